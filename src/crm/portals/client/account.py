"""The signed-in client's pages: the way to trading, the language, the profile, the documents. Each reads
the client from the session, never from the URL."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from crm.core.errors import ValidationFailed
from crm.core.files.service import MAX_BYTES
from crm.core.i18n import N_, country_names, gettext, pick_language
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, shows_again
from crm.identity import portal
from crm.kyc.documents import service as documents
from crm.onboarding import profile, status
from crm.portals.client.common import (
    LANG_COOKIE,
    language,
    load,
    next_url,
    page,
    signed_in,
)
from crm.portals.staff.middleware import request_meta

CHOOSE_FILE = N_("Choose the photo or scan to send.")


# --- the signed-in client ----------------------------------------------------------------------------------


@get("/portal", name="portal.home")
async def home(request: Request) -> Response:
    session = await signed_in(request)
    return page(request, "client/home.html", {"journey": await status.journey(session.client_id)})


@post("/portal/language", name="portal.language")
async def set_language(request: Request) -> Response:
    form = await form_data(request)
    lang = pick_language(form.get("lang"))
    session = await load(request)
    if session:
        await portal.set_language(session, lang)
    response = redirect(request, next_url(request, form))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


# --- profile -----------------------------------------------------------------------------------------------


async def _profile_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = await signed_in(request)
    current = await status.profile(session.client_id)
    return page(
        request,
        "client/profile.html",
        {
            "form": refusal.form or current,
            "errors": refusal.errors,
            "error": refusal.message,
            "countries": country_names(language(request)),
        },
        status=refusal.status,
    )


@get("/portal/profile", name="portal.profile")
async def profile_form(request: Request) -> Response:
    return await _profile_page(request)


@post("/portal/profile", name="portal.profile.save")
@shows_again(_profile_page)
async def profile_save(request: Request) -> Response:
    session = await signed_in(request)
    form = await form_data(request)
    actor = portal.client_actor(
        {"reference": session.reference, "email": session.email}, request_meta(request)
    )
    await profile.update_profile(actor, session.client_id, form)
    response = redirect(
        request, "/portal", flash=gettext(pick_language(form.get("language")), "Your profile is saved.")
    )
    response.set_cookie(
        LANG_COOKIE, pick_language(form.get("language")), max_age=365 * 86400, samesite="lax", httponly=True
    )
    return response


# --- documents ---------------------------------------------------------------------------------------------


async def _documents_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    session = await signed_in(request)
    return page(
        request,
        "client/documents.html",
        {
            "kinds": await documents.kinds_for(session.client_id),
            "names": documents.KINDS,
            "documents": await documents.documents_of(session.client_id),
            "errors": refusal.errors,
            "error": refusal.message,
            "chosen": refusal.form.get("kind") or request.query_params.get("kind", ""),
        },
        status=refusal.status,
    )


@get("/portal/documents", name="portal.documents")
async def documents_list(request: Request) -> Response:
    return await _documents_page(request)


@post("/portal/documents", name="portal.documents.upload")
@shows_again(_documents_page, field="file")
async def documents_upload(request: Request) -> Response:
    session = await signed_in(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(CHOOSE_FILE, field_errors={"file": CHOOSE_FILE})
    content = await upload.read(MAX_BYTES + 1)
    kind = form.get("kind")
    await documents.receive(
        portal.client_actor({"reference": session.reference, "email": session.email}, request_meta(request)),
        session.client_id,
        kind if isinstance(kind, str) else "",
        upload.filename or "",
        content,
        source="portal",
    )
    return redirect(request, "/portal/documents", flash=gettext(language(request), "Received. Thank you."))


handlers = [home, set_language, profile_form, profile_save, documents_list, documents_upload]
