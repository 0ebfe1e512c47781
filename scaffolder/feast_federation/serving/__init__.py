"""Serving the shared store: Feast's feature server with settings for many teams
(``serve``) and workers replaced one at a time without a dropped request (``recycling``).
No Feast import here: the server itself is the registry adapter's (``feature_server``)."""
