"""What the pages' tests look for on every page the Content-Security-Policy covers: nothing
inline and nothing from another origin."""

from __future__ import annotations

import re

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src
    re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),  # onclick= and the like
    re.compile(r"<[^>]+\sstyle\s*=", re.I),  # style attributes
    re.compile(r"<style", re.I),
    re.compile(r"(src|href)=\"(https?:)?//", re.I),  # anything from another origin
]
