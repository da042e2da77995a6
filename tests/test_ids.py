import re
import threading
from datetime import UTC, datetime, timedelta, timezone

from conbench.ids import id_for_instant, id_prefix, new_id, new_id_at

ID_RE = re.compile(r"^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$")


def test_prefix_of_the_history_floor_matches_the_spec():
    assert id_prefix(1_685_750_400 * 10**9) == "0647a82800007000"


def test_prefix_with_nanoseconds_matches_the_spec():
    assert id_prefix(1_704_110_400_123_456_789) == "06592a9401f97add"


def test_new_id_is_32_hex_in_the_uuid7_layout():
    assert ID_RE.match(new_id())


def test_new_ids_of_today_sort_after_legacy_ids():
    assert new_id() > "0647a828"
    assert new_id().startswith("06")


def test_ids_in_one_fixed_point_tick_count_up():
    ns = 1_704_110_400_123_456_789
    first, second, third = new_id_at(ns), new_id_at(ns), new_id_at(ns)
    assert [first[16:20], second[16:20], third[16:20]] == ["8000", "8001", "8002"]
    assert first < second < third


def test_sequence_resets_when_time_moves_on():
    ns = 1_704_110_400_000_000_000
    new_id_at(ns)
    new_id_at(ns)
    assert new_id_at(ns + 1_000)[16:20] == "8000"


def test_new_ids_are_unique_and_increasing_across_threads():
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [new_id() for _ in range(500)]
        assert mine == sorted(mine)
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 2000


def test_id_for_instant_is_the_lower_bound_of_its_instant():
    bound = id_for_instant(datetime(2023, 6, 3))
    assert bound == "0647a828000070008000000000000000"
    assert new_id_at(1_685_750_400 * 10**9) >= bound


def test_id_for_instant_treats_naive_as_utc_and_converts_offsets():
    naive = id_for_instant(datetime(2024, 1, 1, 12, 0, 0, 123456))
    aware = id_for_instant(
        datetime(2024, 1, 1, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    )
    assert naive == aware == id_for_instant(datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC))
    assert naive.startswith("06592a9401f9")


def test_id_for_instant_orders_like_time():
    assert id_for_instant(datetime(2024, 1, 1)) < id_for_instant(datetime(2024, 1, 1, 0, 0, 0, 1))


def test_id_for_instant_clamps_instants_outside_the_layout():
    assert id_for_instant(datetime(1960, 1, 1)) == "0000000000007000" + "8000" + "0" * 12
    assert id_for_instant(datetime(9999, 1, 1)).startswith("ffffffffffff7fff")
