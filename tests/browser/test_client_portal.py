"""A person opens an account on a phone: the form in their language, a refused field said in it, the
privacy notice of the entity their country leads to, then the e-mailed link (sent by the real worker over
SMTP) confirms the address; a dark photo is refused in their words, a passport and a selfie taken; the
journey shows each step. In Arabic the page reads right to left."""

import email
import email.policy
import re

from playwright.async_api import expect

from crm.clients.demo import load_client_facing_demo
from crm.kyc.documents.samples import document_photo
from tests.factories import make_entity

PHONE = {"width": 390, "height": 844}


async def test_a_client_registers_on_a_phone_and_confirms_the_address(new_page, smtp, live_worker):
    await load_client_facing_demo({"INTL": await make_entity("INTL", "Aurora Markets International Ltd")})
    page = await new_page()
    await page.set_viewport_size(PHONE)
    await page.goto("/portal/register?lang=es")
    await expect(page.get_by_role("heading", name="Abrir una cuenta")).to_be_visible()
    await page.get_by_label("Nombre", exact=True).fill("Lucía")
    await page.get_by_label("Apellidos").fill("Méndez")
    await page.get_by_label("Correo electrónico").fill("lucia.mendez@example.com")
    await page.get_by_label("Fecha de nacimiento").fill("2012-03-04")
    await page.get_by_label("País de residencia").select_option("MX")
    await expect(page.get_by_text("He leído el aviso de privacidad")).to_be_visible()
    await page.get_by_label("Contraseña").fill("una-frase-larga-y-segura-7")
    await page.get_by_role("button", name="Abrir mi cuenta").click()
    await expect(page.get_by_text("Debe tener 18 años o más para abrir una cuenta.")).to_be_visible()
    await page.get_by_label("Fecha de nacimiento").fill("1991-03-04")
    await page.get_by_label("Contraseña").fill("una-frase-larga-y-segura-7")
    await page.get_by_label("He leído el aviso de privacidad", exact=False).check()
    await page.screenshot(path="/tmp/shot-portal-register-390.png", full_page=True)
    await page.get_by_role("button", name="Abrir mi cuenta").click()
    await expect(page.get_by_role("heading", name="Hola, Lucía")).to_be_visible()
    await expect(page.get_by_test_id("next-step")).to_contain_text(
        "Confirme su dirección de correo electrónico"
    )
    for _ in range(100):  # the worker sends the verification e-mail
        if smtp.messages:
            break
        await page.wait_for_timeout(100)
    message = email.message_from_string(smtp.messages[-1][1], policy=email.policy.default)
    assert message["subject"] == "Confirme su dirección de correo electrónico"
    link = re.search(r"/portal/verify/[\w-]+", message.get_body(("plain",)).get_content()).group(0)
    await page.goto(link)
    await expect(page.get_by_test_id("message")).to_contain_text("está confirmada")
    await page.get_by_role("link", name="Continuar").click()
    await expect(page.get_by_test_id("next-step")).to_contain_text("Acredite su identidad")
    await page.screenshot(path="/tmp/shot-portal-home-390.png", full_page=True)
    await page.get_by_test_id("next-step-go").click()
    dark = {"name": "pasaporte.jpg", "mimeType": "image/jpeg", "buffer": document_photo(background=(8, 8, 8))}
    await page.get_by_label("¿Qué va a enviar?").select_option("passport")
    await page.get_by_label("Foto o escaneo").set_input_files(dark)
    await page.get_by_role("button", name="Enviar").click()
    await expect(page.get_by_test_id("file-error")).to_contain_text("La foto está demasiado oscura")
    await page.screenshot(path="/tmp/shot-portal-documents-390.png", full_page=True)
    for kind, name in (("passport", "pasaporte.jpg"), ("selfie", "selfi.jpg")):
        await page.get_by_label("¿Qué va a enviar?").select_option(kind)
        photo = {"name": name, "mimeType": "image/jpeg", "buffer": document_photo(exif=True)}
        await page.get_by_label("Foto o escaneo").set_input_files(photo)
        await page.get_by_role("button", name="Enviar").click()
        await expect(page.get_by_role("status")).to_contain_text("Recibido. Gracias.")
    await expect(page.get_by_test_id("documents")).to_contain_text("Selfi")
    await page.get_by_role("link", name="Volver a su cuenta").click()
    await expect(page.locator("[data-step=documents]")).to_contain_text("Hecho.")
    await page.get_by_role("link", name="Perfil").click()  # a move is saved (and re-reviewed by compliance)
    await page.get_by_label("País de residencia").select_option("ES")
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.get_by_role("status")).to_contain_text("Su perfil está guardado.")
    await page.get_by_label("Idioma").select_option("ar")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.get_by_test_id("next-step")).to_contain_text("عمليات التحقق لدينا")
    await page.screenshot(path="/tmp/shot-portal-home-ar-390.png", full_page=True)
    await page.set_viewport_size({"width": 1366, "height": 768})
    await page.screenshot(path="/tmp/shot-portal-home-ar-1366.png", full_page=True)
