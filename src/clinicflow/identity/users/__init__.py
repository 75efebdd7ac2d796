"""Staff accounts: passwords, the administrators' second factor, and the sign-in back-off."""
