from sisra.platform.migrate import pending_differences


def test_migrations_match_the_models(database_url):
    assert pending_differences(database_url) == []
