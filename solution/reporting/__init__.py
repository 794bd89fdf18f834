"""Reporting: the run report (metrics, plots, HTML) and the tables every command writes."""
