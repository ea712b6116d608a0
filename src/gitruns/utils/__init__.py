"""The ground floor: tools that know nothing of runs (YAML, safe files, git, processes).

Every other layer may import these; they import nothing of gitruns but its
exceptions and ``gitruns.once``.
"""
