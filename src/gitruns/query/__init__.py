"""Finding runs: the filter grammar (:mod:`~gitruns.query.filters`), searching the index
(:mod:`~gitruns.query.search`), tables for people (:mod:`~gitruns.query.tables`) and the
one ranking rule (:mod:`~gitruns.query.ranking`).

Each is imported from its module: a script that searches runs loads the grammar and the
search, not the tables or the ranking.
"""
