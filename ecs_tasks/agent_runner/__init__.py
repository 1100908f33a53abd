"""Nexod's agent runner: runs one CrewAI agent or crew task for a flow node, through the broker only.

It gets a broker URL and a capability token (NEXOD_BROKER_URL, NEXOD_BROKER_TOKEN) and nothing else: no
database, no provider key, no credential. crewai is imported here and nowhere else in the repository.
"""
