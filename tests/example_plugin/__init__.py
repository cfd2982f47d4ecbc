"""A tiny plugin used by the contract tests: one table of notes per agency, with every hook implemented.

It lives under tests/ (not plugins/) so the plugin machinery is tested before and apart from business plugins.
"""

NAME = "example"
VERSION = "1.0.0"
