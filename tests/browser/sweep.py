"""Walk every page a signed-in user can reach by following links, and check each one as a user would meet it:
axe-core (vendored from npm) finds no serious or critical violation, nothing overflows the window, no pill
or reference breaks over two lines, and no visible text is a raw code (`in_progress`, `leads:lead:assign`)
where the label registry has words (samples in <pre> or marked [data-raw] are exempt).

Pages are told apart by their route (`/leads/42` and `/leads/43` are one page), so the walk sees every screen
once per user without reading every record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# Not pages: what signs out, streams, downloads, machine-facing documents, the third-party API viewer.
SKIP = re.compile(
    r"^/(logout|static/|api/|healthz|notifications/live|.*/live$|.*\.csv$|.*\.pdf$|kyc/documents/|.*/export)"
)
NUMBER = re.compile(r"/\d+(?=/|$)")
REFERENCE = re.compile(r"/[A-Z]{2,4}-[A-Z0-9-]+(?=/|$)")

CHECK_PAGE = r"""
() => {
  const doc = document.documentElement;
  const overflow = doc.scrollWidth - doc.clientWidth;
  const broken = [];
  for (const el of document.querySelectorAll('.pill, .badge, .ref')) {
    if (el.offsetParent !== null && el.getClientRects().length > 1) broken.push(el.outerHTML.slice(0, 120));
  }
  const raw = [];
  const code = /\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+:[a-z_]+(?::[a-z_]+)?\b/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest('pre, script, style, textarea, noscript, [data-raw]')) continue;
    if (parent.offsetParent === null) continue;
    const found = node.textContent.match(code);
    const where = `${parent.tagName.toLowerCase()}: ${node.textContent.trim().slice(0, 60)}`;
    if (found) raw.push(`${found[0]} (in ${where})`);
  }
  return {overflow, broken, raw};
}
"""


def route_of(path: str) -> str:
    """`/leads/42/merge` and `/leads/43/merge` are one route."""
    return REFERENCE.sub("/{ref}", NUMBER.sub("/{id}", path))


@dataclass
class Finding:
    url: str
    problem: str

    def __str__(self) -> str:
        return f"{self.url}: {self.problem}"


@dataclass
class Sweep:
    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


async def check_page(page, url: str, sweep: Sweep, widths: tuple[int, ...] = ()) -> None:
    """axe and the layout checks at the page's viewport, then the overflow check again at each of `widths`."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        AXE_TAGS,
    )
    for violation in result:
        if violation["impact"] in ("serious", "critical"):
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            sweep.findings.append(Finding(url, f"axe {violation['id']} ({violation['impact']}): {targets}"))
    layout = await page.evaluate(CHECK_PAGE)
    if layout["overflow"] > 0:
        sweep.findings.append(Finding(url, f"overflows the window by {layout['overflow']} px"))
    for html in layout["broken"]:
        sweep.findings.append(Finding(url, f"wraps over two lines: {html}"))
    for text in sorted(set(layout["raw"]))[:5]:
        sweep.findings.append(Finding(url, f"shows a raw code: {text}"))
    size = page.viewport_size
    for width in widths:
        await page.set_viewport_size({"width": width, "height": size["height"]})
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            sweep.findings.append(Finding(url, f"overflows a {width} px window by {overflow} px"))
    if widths:
        await page.set_viewport_size(size)


async def sweep_site(
    page, start: str = "/", limit: int = 120, skip=SKIP, widths: tuple[int, ...] = ()
) -> Sweep:
    """Follow same-site links breadth first from `start`, checking each route once."""
    sweep, seen, queue = Sweep(), set(), [(start, "")]
    origin = None
    while queue and len(sweep.pages) < limit:
        path, came_from = queue.pop(0)
        route = route_of(urlsplit(path).path)
        if route in seen:
            continue
        seen.add(route)
        response = await page.goto(path)
        await page.wait_for_load_state("networkidle")
        origin = origin or urlsplit(page.url)._replace(path="", query="", fragment="").geturl()
        if response is None or response.status >= 400:
            status = response.status if response else "nothing"
            sweep.findings.append(Finding(path, f"answers {status} (linked from {came_from})"))
            continue
        if urlsplit(page.url).path != urlsplit(path).path:
            continue  # a redirect: the target is (or will be) checked under its own route
        sweep.pages.append(path)
        await check_page(page, path, sweep, widths)
        for href in await page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if href.startswith(origin) and not skip.match(parts.path):
                queue.append((parts.path + (f"?{parts.query}" if parts.query else ""), path))
    return sweep
