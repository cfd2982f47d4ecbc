"""Certification: where each agency stands with its quality management system (HTQLCL) under Decision
19/2014/QĐ-TTg: build → apply → announce → maintain and improve, re-announcement when the scope changes, and the
move from TCVN ISO 9001:2008 to :2015.

The record of an agency is derived from an append-only stream of dated events (see rules.py); the board, the
reminders and the national indicators read that derived state.
"""

NAME = "certification"
VERSION = "1.0.0"
