"""Identity: staff users, patient sign-in links, API clients and tokens → an `Actor`."""
