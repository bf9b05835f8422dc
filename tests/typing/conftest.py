# public_api.py is type-checked by mypy (.ci/mypy.ini), not run: its calls
# would train networks. pytest's --doctest-modules would otherwise import it.
collect_ignore = ["public_api.py"]
