"""NYC-taxi-like trip tables, generated: the course's duration-prediction data, offline.

The columns are those of the green-taxi trip records the course reads
(``lpep_pickup_datetime``, ``PULocationID``, ``trip_distance``...). Durations
come from distance, a speed per pickup and drop-off zone, a factor per zone
pair, rush hours and noise, with a few outliers: so the course's features
(``PU_DO`` one-hot plus ``trip_distance``) matter, and its 1-60 minute
filter has something to filter. Deterministic for a given month and seed.

As in the real records, a few zones carry most trips, and some zones sit by a
highway: a trip from or to one drives much faster, so its minutes per mile
depend on its zones. A linear model on ``PU_DO`` and ``trip_distance`` can
only shift each pair's duration, not its slope; trees find the interaction,
so a tuned XGBoost beats the linear baseline, as it does in the course.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas

ZONES = 265


def taxi_trips(
    year: int = 2021, month: int = 1, rows: int = 20_000, seed: int = 0
) -> pandas.DataFrame:
    """One month of generated green-taxi trips.

    Example::

        train = taxi_trips(2021, 1)
        valid = taxi_trips(2021, 2)
    """
    import numpy as np
    import pandas as pd

    city = np.random.default_rng(2021 + seed)  # the same city every month
    popularity = city.dirichlet(np.full(ZONES, 0.05))  # about 20 zones carry 90% of trips
    zone_speed = city.normal(17.0, 4.5, ZONES + 1).clip(6.0, 32.0)  # mph
    pair_factor = city.lognormal(0.0, 0.18, (ZONES + 1, ZONES + 1))
    by_highway = city.random(ZONES + 1) < 0.25

    trips = np.random.default_rng([year, month, seed])
    zones = np.arange(1, ZONES + 1)
    pickup_zone = trips.choice(zones, size=rows, p=popularity)
    dropoff_zone = trips.choice(zones, size=rows, p=popularity)
    distance = trips.lognormal(0.55, 0.75, rows).clip(0.05, 45.0).round(2)

    start = pd.Timestamp(year=year, month=month, day=1)
    seconds_in_month = (start + pd.offsets.MonthBegin(1) - start).total_seconds()
    pickup = start + pd.to_timedelta(np.sort(trips.uniform(0, seconds_in_month, rows)), unit="s")
    hour = pickup.hour.to_numpy()
    rush = np.where(((hour >= 7) & (hour <= 9)) | ((hour >= 16) & (hour <= 19)), 1.35, 1.0)

    speed = (zone_speed[pickup_zone] + zone_speed[dropoff_zone]) / 2 / rush
    speed *= np.where(by_highway[pickup_zone] | by_highway[dropoff_zone], 2.6, 1.0)
    minutes = distance / speed * 60 * pair_factor[pickup_zone, dropoff_zone]
    minutes = (minutes + trips.gamma(2.0, 1.2, rows)) * trips.lognormal(0.0, 0.12, rows)
    outliers = trips.random(rows) < 0.02
    minutes[outliers] = trips.choice([0.3, 90.0, 400.0], size=outliers.sum())

    fare = (2.5 + 2.5 * distance + 0.35 * minutes).round(2)
    return pd.DataFrame(
        {
            "VendorID": trips.choice([1, 2], size=rows, p=[0.2, 0.8]),
            "lpep_pickup_datetime": pickup.round("s"),
            "lpep_dropoff_datetime": (pickup + pd.to_timedelta(minutes, unit="m")).round("s"),
            "PULocationID": pickup_zone,
            "DOLocationID": dropoff_zone,
            "passenger_count": trips.choice([1, 1, 1, 2, 3, 5], size=rows),
            "trip_distance": distance,
            "fare_amount": fare,
            "total_amount": (fare * 1.18).round(2),
        }
    )
