"""HTTP routes only: parse the request, call a service, shape the answer."""
