"""E-mail: the SMTP adapter (smtp.py) and the sandbox mail server `crm run` starts (sandbox.py)."""
