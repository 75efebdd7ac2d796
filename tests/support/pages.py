"""Reading the web pages over HTTP in tests: the CSRF token a page's forms carry, and what
the Content-Security-Policy forbids, looked for in the HTML itself."""

from __future__ import annotations

import re

from clinicflow.web.security import CSRF_FIELD

TOKEN = re.compile(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"')
INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),  # onclick= and the like
    re.compile(r"<[^>]+\sstyle\s*=", re.I),  # style attributes
    re.compile(r"<style", re.I),
    re.compile(r"(src|href)=\"(https?:)?//", re.I),  # anything from another origin
]
