"""Pure token handling: ES256 signing keys, the JWKS, issuing and checking JWTs."""
