"""Pure rules of staff accounts: password policy and hashing, TOTP, the sign-in back-off."""
