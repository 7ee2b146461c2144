"""An id beyond the INTEGER columns is a plain 404 everywhere, never a 500 from the driver."""

import pytest

HUGE = [2**31, 10**30]


@pytest.mark.parametrize("value", HUGE)
def test_huge_ids_in_urls_are_not_found(app, client, login, make_merchant, make_user, value):
    owner = make_user(phone="13700000001")
    make_merchant(owner=owner)
    login(owner)
    for url in (
        f"/merchant/products/{value}/edit",
        f"/merchant/windows/{value}",
        f"/merchant/batches/{value}",
        f"/api/v1/merchant/products/{value}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
