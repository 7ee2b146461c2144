"""Demo data for `make run`."""


def seed_demo() -> list[str]:
    return ["demo data: not yet written"]
