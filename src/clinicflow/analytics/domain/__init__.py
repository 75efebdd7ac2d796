"""The analytics context's pure rules: what of an event may enter the lake, and how."""
