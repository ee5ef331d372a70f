"""HTTP routes: each parses, calls one domain function, and shapes the answer."""
