"""``jetnb serve``'s HTTP side (Tornado, as Jupyter's own server): the REST API and the webhook endpoint."""
