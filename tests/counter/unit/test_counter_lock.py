import pytest

from app.extensions import db
from app.models import AuditRecord, CodeEntryFailure, PickupStaff, User
from app.services.core import audit
from app.services.core.errors import BadSignature, CodeEntryLocked, Conflict, InvalidCode, NotFound
from app.services.counter import counter_lock, redemption
from app.services.pickup import codes
from tests.support.pickup import Bags

DEVICE = "device-0123456789"


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def wrong(bag, user=None, device=DEVICE, n=1):
    for _ in range(n):
        with pytest.raises(InvalidCode):
            redemption.find_code(user or bag.staff, bag.point.id, "0000 0001", device)


def answer(fn):
    try:
        fn()
    except (CodeEntryLocked, InvalidCode) as exc:
        body = exc.to_dict()["error"]
        return exc.status, body["code"], body["message"], body.get("retry_at")
    return "found"


def test_after_five_wrong_codes_even_the_right_code_is_refused_until_the_lock_ends(bags, frozen_clock):
    bag = bags.make()
    wrong(bag, n=5)
    with pytest.raises(CodeEntryLocked) as locked:
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE)
    assert locked.value.status == 429 and "retry_at" in locked.value.context
    frozen_clock.advance(minutes=9, seconds=59)
    with pytest.raises(CodeEntryLocked):
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE)
    frozen_clock.advance(seconds=2)
    assert redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE).id == bag.code.id


def test_during_the_lock_valid_and_invalid_codes_get_identical_answers(bags, frozen_clock):
    bag = bags.make()
    wrong(bag, n=5)
    valid = answer(lambda: redemption.preview(bag.staff, bag.point.id, bag.code.code, DEVICE))
    invalid = answer(lambda: redemption.preview(bag.staff, bag.point.id, "9999 9999", DEVICE))
    qr = answer(lambda: redemption.preview(bag.staff, bag.point.id, codes.qr_text(bag.code), DEVICE))
    assert valid == invalid == qr and valid[0] == 429
    # Every refused attempt is still audited, and the lock does not extend itself.
    locked = db.session.scalars(db.select(AuditRecord).where(AuditRecord.action == "code_lookup")).all()[-3:]
    assert {record.detail["outcome"] for record in locked} == {"code_entry_locked"}


def test_unknown_void_and_other_point_codes_look_the_same_to_the_client(bags, make_point):
    bag = bags.make()
    other_point = make_point(bag.leader, staff=[bag.staff])
    elsewhere = bags.make(point=other_point, staff=bag.staff)
    void = bags.make(point=bag.point, staff=bag.staff)
    codes.void_code(void.order.id)
    db.session.commit()
    unknown = answer(lambda: redemption.find_code(bag.staff, bag.point.id, "1234 5670"))
    voided = answer(lambda: redemption.find_code(bag.staff, bag.point.id, codes.qr_text(void.code)))
    foreign = answer(lambda: redemption.find_code(bag.staff, bag.point.id, codes.qr_text(elsewhere.code)))
    assert unknown == voided == foreign and unknown[:2] == (404, "invalid_code")
    outcomes = [
        r.detail["outcome"] for r in db.session.scalars(db.select(AuditRecord).order_by(AuditRecord.id)).all()[-3:]
    ]
    assert outcomes == ["invalid_code", "void", "wrong_point"]


def test_the_point_key_locks_everyone_at_that_point_after_wrong_codes_from_two_people(bags, make_user):
    bag = bags.make()
    colleague, third = make_user("同事"), make_user("同事二")
    db.session.add_all([PickupStaff(pickup_point_id=bag.point.id, user_id=u.id) for u in (colleague, third)])
    db.session.commit()
    wrong(bag, n=5)
    wrong(bag, user=colleague, device="another-device-1", n=4)
    assert redemption.find_code(third, bag.point.id, bag.code.code, "third-device-22").id == bag.code.id
    wrong(bag, user=colleague, device="another-device-1")
    with pytest.raises(CodeEntryLocked) as locked:
        redemption.find_code(third, bag.point.id, bag.code.code, "third-device-22")
    assert locked.value.context["scope"] == "point"


def test_the_user_key_follows_the_user_to_another_point(bags, make_point):
    bag = bags.make()
    wrong(bag, n=5)
    second = bags.make(point=make_point(bag.leader, staff=[bag.staff]), staff=bag.staff)
    with pytest.raises(CodeEntryLocked):
        redemption.find_code(bag.staff, second.point.id, second.code.code, "fourth-device-4")


def test_the_device_key_locks_every_user_on_that_device(bags, make_user, make_point):
    bag = bags.make()
    other = bags.make(point=make_point(bag.leader, staff=[bag.staff]), staff=bag.staff)
    wrong(bag, n=5)
    colleague = make_user("同事")
    db.session.add(PickupStaff(pickup_point_id=other.point.id, user_id=colleague.id))
    db.session.commit()
    for _ in range(5):
        with pytest.raises(InvalidCode):
            redemption.find_code(colleague, other.point.id, "0000 0002", DEVICE)
    third = make_user("同事二")
    db.session.add(PickupStaff(pickup_point_id=other.point.id, user_id=third.id))
    db.session.commit()
    with pytest.raises(CodeEntryLocked) as locked:
        redemption.find_code(third, other.point.id, other.code.code, DEVICE)
    assert locked.value.context["scope"] == "device"
    # The same person on another device, at the other point, is not locked: the device was.
    assert redemption.find_code(third, other.point.id, other.code.code, "fifth-device-5").id == other.code.id


def test_failures_spread_beyond_the_window_do_not_lock(bags, frozen_clock):
    bag = bags.make()
    for _ in range(5):
        wrong(bag)
        frozen_clock.advance(minutes=3)
    assert redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE).id == bag.code.id


def test_forged_qr_codes_count_as_failures(bags):
    bag = bags.make()
    forged = codes.qr_text(bag.code)[:-4] + "AAAA"
    for _ in range(5):
        with pytest.raises(BadSignature):
            redemption.find_code(bag.staff, bag.point.id, forged, DEVICE)
    with pytest.raises(CodeEntryLocked):
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE)


def test_malformed_entries_and_successes_do_not_count(bags):
    bag = bags.make()
    for _ in range(6):
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE)
        with pytest.raises(Exception):  # noqa: B017 - ValidationFailed, checked elsewhere
            redemption.find_code(bag.staff, bag.point.id, "12", DEVICE)
    assert redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE).id == bag.code.id


# ---- one person cannot close a counter (issue 14, item 7)


def staff_of(bag, make_user, n):
    users = [make_user(f"同事{i}") for i in range(n)]
    db.session.add_all([PickupStaff(pickup_point_id=bag.point.id, user_id=u.id) for u in users])
    db.session.commit()
    return users


def test_one_person_never_locks_the_point_even_past_their_share(bags, make_user):
    bag = bags.make()
    (colleague,) = staff_of(bag, make_user, 1)
    # Requests racing past the person's own lock are recorded too; the point counts at most five.
    for _ in range(12):
        counter_lock.record_lookup(audit.actor_for(bag.staff), bag.point.id, None, "invalid_code", "0001", DEVICE)
    db.session.commit()
    with pytest.raises(CodeEntryLocked) as own:
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, "other-device-9")
    assert own.value.context["scope"] == "person"
    assert redemption.find_code(colleague, bag.point.id, bag.code.code, DEVICE).id == bag.code.id


def test_a_point_threshold_below_one_persons_share_is_raised_above_it(app, bags, make_user):
    app.config["CODE_LOCK_POINT_FAILURES"] = 2
    bag = bags.make()
    (colleague,) = staff_of(bag, make_user, 1)
    wrong(bag, n=5)
    assert redemption.find_code(colleague, bag.point.id, bag.code.code, "other-device-9").id == bag.code.id


def test_guessing_from_many_accounts_at_one_point_is_bounded_by_the_point_threshold(bags, make_user):
    bag = bags.make()
    accounts = staff_of(bag, make_user, 6)
    wrong_answers = 0
    for n, user in enumerate(accounts):
        for _ in range(5):
            try:
                redemption.find_code(user, bag.point.id, "0000 0001", f"guess-device-{n:03d}")
            except InvalidCode:
                wrong_answers += 1
            except CodeEntryLocked:
                break
    assert wrong_answers == 10  # CODE_LOCK_POINT_FAILURES, however many accounts
    (newcomer,) = staff_of(bag, make_user, 1)
    with pytest.raises(CodeEntryLocked):
        redemption.find_code(newcomer, bag.point.id, bag.code.code, "fresh-device-01")


def test_a_lift_reopens_the_point_and_its_devices_but_not_the_guessers(bags, make_user, frozen_clock):
    bag = bags.make()
    second, third = staff_of(bag, make_user, 2)
    wrong(bag, n=5)
    wrong(bag, user=second, n=5)  # both on DEVICE: the device and the point are locked
    assert counter_lock.shared_lock(bag.point.id) is not None
    leader = db.session.get(User, bag.leader.user_id)
    lifted = counter_lock.lift(leader, bag.point.id)
    assert lifted["lifted_by"] == leader.name and counter_lock.shared_lock(bag.point.id) is None
    assert redemption.find_code(third, bag.point.id, bag.code.code, DEVICE).id == bag.code.id
    for guesser in (bag.staff, second):
        with pytest.raises(CodeEntryLocked) as locked:
            redemption.find_code(guesser, bag.point.id, bag.code.code, "another-device-7")
        assert locked.value.context["scope"] == "person"
    with pytest.raises(Conflict):
        counter_lock.lift(leader, bag.point.id)
    # After a lift, the point counts afresh: the guessers' own locks end, they guess again.
    frozen_clock.advance(minutes=11)
    wrong(bag, n=5)
    wrong(bag, user=second, device="another-device-7", n=5)
    with pytest.raises(CodeEntryLocked):
        redemption.find_code(third, bag.point.id, bag.code.code, "third-device-33")


def test_only_the_points_leader_may_lift(bags, make_user, make_leader):
    bag = bags.make()
    (second,) = staff_of(bag, make_user, 1)
    wrong(bag, n=5)
    wrong(bag, user=second, n=5)
    other_leader = db.session.get(User, make_leader().user_id)
    for user in (bag.staff, other_leader):
        with pytest.raises(NotFound):
            counter_lock.lift(user, bag.point.id)
    assert counter_lock.shared_lock(bag.point.id) is not None


def test_only_wrong_codes_are_kept_for_the_lock_to_count_good_lookups_are_only_audited(bags):
    """The lock reads code_entry_failures, not the audit trail: a busy deployment's good lookups
    (tens of thousands an hour) must not be what every check at every counter reads through."""
    bag = bags.make()
    for _ in range(3):
        redemption.find_code(bag.staff, bag.point.id, bag.code.code, DEVICE)
    assert db.session.scalar(db.select(db.func.count()).select_from(CodeEntryFailure)) == 0
    wrong(bag, n=2)
    failures = db.session.scalars(db.select(CodeEntryFailure).order_by(CodeEntryFailure.id)).all()
    assert [(f.actor, f.pickup_point_id, f.device_id, f.outcome) for f in failures] == [
        (audit.actor_for(bag.staff), bag.point.id, DEVICE, "invalid_code")
    ] * 2
    lookups = db.session.scalars(db.select(AuditRecord).where(AuditRecord.action == "code_lookup")).all()
    assert [r.detail["outcome"] for r in lookups] == ["found"] * 3 + ["invalid_code"] * 2
