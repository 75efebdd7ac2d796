"""OAuth access tokens: ours (client credentials, ES256) and an OpenID Connect provider's."""
