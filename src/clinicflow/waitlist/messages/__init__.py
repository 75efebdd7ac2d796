"""The waitlist's own emails: invitation, offer, nurture and repeat-join messages."""
