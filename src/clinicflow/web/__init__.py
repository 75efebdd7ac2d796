"""The clinic's pages: the booking site (`/`), the patient's area (`/me`), the staff console
(`/staff`) and the owner's dashboard (`/owner`).

Server-rendered Jinja2 with htmx for partial updates, on the same use cases as the API (never
the API over HTTP). Every page works without JavaScript; htmx only saves a full reload.
Browser files are vendored (`make vendor`, static/vendor/VERSIONS); nothing loads from a CDN.
"""
