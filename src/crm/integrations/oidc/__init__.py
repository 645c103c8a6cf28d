"""Staff single sign-on over OpenID Connect (authorization code flow with PKCE)."""
