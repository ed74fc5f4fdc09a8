"""The synthetic health system: hospital groups and their hospitals, as OMOP `location` and `care_site` rows.

How the care site hierarchy is encoded (CDM 5.4 has no parent column on `care_site`):
- each hospital group is one `location` row (`location_source_value` = the group code, e.g. `NBH`,
  `address_1` = the group's name); its hospitals are `care_site` rows with that `location_id`.
  So "site group of a care site" is `care_site.location_id`, named by
  `location.location_source_value`: a plain join on CDM columns, no table outside the CDM.
- `care_site_source_value` spells the path too (`NBH/02`), for readers of the raw rows.
Sizes differ on purpose (a large university hospital, small community hospitals), so that
per-site counts range from thousands to a handful: what small-cell suppression must handle.
"""

from __future__ import annotations

from dataclasses import dataclass

INPATIENT_HOSPITAL = 8717  # CMS place of service "Inpatient Hospital"


@dataclass(frozen=True)
class Site:
    care_site_id: int
    name: str
    weight: int  # share of the population whose home hospital this is


@dataclass(frozen=True)
class Group:
    location_id: int
    code: str
    name: str
    city: str
    state: str
    sites: tuple[Site, ...]


GROUPS: tuple[Group, ...] = (
    Group(1, "NBH", "Northbridge Health", "Northbridge", "MA", (
        Site(101, "Northbridge General Hospital", 30),
        Site(102, "Northbridge East Hospital", 10),
        Site(103, "Riverside Community Hospital", 6),
        Site(104, "St Anne's Hospital", 4),
        Site(105, "Harbor View Hospital", 3),
    )),
    Group(2, "VCN", "Valley Care Network", "Springvale", "OH", (
        Site(201, "Valley University Hospital", 22),
        Site(202, "Valley North Hospital", 7),
        Site(203, "Pinecrest Hospital", 4),
        Site(204, "Lakeside Hospital", 2),
    )),
    Group(3, "CST", "Coastal Hospitals", "Port Ellis", "CA", (
        Site(301, "Coastal Medical Center", 12),
        Site(302, "Bayfront Hospital", 4),
        Site(303, "Dunes Hospital", 1),
    )),
    Group(4, "HHP", "Highland Health Partners", "Glenmoor", "CO", (
        Site(401, "Highland Regional Hospital", 9),
        Site(402, "Glen Hospital", 3),
        Site(403, "Moorside Hospital", 2),
        Site(404, "Summit Hospital", 1),
    )),
)


def location_rows() -> list[tuple]:
    """(location_id, address_1, city, state, location_source_value): one row per hospital group."""
    return [(g.location_id, g.name, g.city, g.state, g.code) for g in GROUPS]


def care_site_rows() -> list[tuple]:
    """(care_site_id, name, place_of_service_concept_id, location_id, source value, place of service source)."""
    return [
        (s.care_site_id, s.name, INPATIENT_HOSPITAL, g.location_id, f"{g.code}/{n:02d}", "Hospital")
        for g in GROUPS
        for n, s in enumerate(g.sites, start=1)
    ]


def _buckets(sites: tuple[Site, ...], size: int) -> list[int]:
    """`size` slots filled with care site ids in proportion to their weights (largest remainder)."""
    total = sum(s.weight for s in sites)
    exact = [s.weight * size / total for s in sites]
    counts = [int(x) for x in exact]
    for i in sorted(range(len(sites)), key=lambda i: exact[i] - counts[i], reverse=True)[: size - sum(counts)]:
        counts[i] += 1
    return [s.care_site_id for s, n in zip(sites, counts, strict=True) for _ in range(n)]


def home_buckets() -> list[tuple[int, int, int]]:
    """(bucket 0..999, care_site_id, location_id): a uniform bucket picks a hospital by size."""
    group_of = {s.care_site_id: g.location_id for g in GROUPS for s in g.sites}
    all_sites = tuple(s for g in GROUPS for s in g.sites)
    return [(b, site, group_of[site]) for b, site in enumerate(_buckets(all_sites, 1000))]


def group_buckets() -> list[tuple[int, int, int]]:
    """(location_id, bucket 0..99, care_site_id): a uniform bucket picks a hospital of the same group."""
    return [(g.location_id, b, site) for g in GROUPS for b, site in enumerate(_buckets(g.sites, 100))]
