"""Pure rules of sessions and patients' sign-in links: when each stops working."""
