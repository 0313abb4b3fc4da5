"""Single sign-on for the staff web app: OpenID Connect (authorization code with PKCE), one
provider per tenant, beside passwords."""
