"""Writers of small data files in the real formats, for tests that need exact control."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

FIRE_HEADER = (
    "Année;Numéro;Département;Code INSEE;Nom de la commune;Date de première alerte;"
    "Surface parcourue (m2);Surface forêt (m2);Surface maquis garrigues (m2);"
    "Autres surfaces naturelles hors forêt (m2);Surfaces agricoles (m2);Autres surfaces (m2);"
    "Surface autres terres boisées (m2);Surfaces non boisées naturelles (m2);"
    "Surfaces non boisées artificialisées (m2);Surfaces non boisées (m2);"
    "Précision des surfaces;Type de peuplement;Nature;Décès ou bâtiments touchés;"
    "Nombre de décès;Nombre de bâtiments totalement détruits;"
    "Nombre de bâtiments partiellement détruits;Précision de la donnée"
)

SYNOP_COLUMNS = (
    "numer_sta;date;pmer;tend;cod_tend;dd;ff;t;td;u;vv;ww;w1;w2;n;nbas;hbas;cl;cm;ch;pres;"
    "niv_bar;geop;tend24;tn12;tn24;tx12;tx24;tminsol;sw;tw;raf10;rafper;per;etat_sol;ht_neige;"
    "ssfrai;perssfrai;rr1;rr3;rr6;rr12;rr24;phenspe1;phenspe2;phenspe3;phenspe4;nnuage1;ctype1;"
    "hnuage1;nnuage2;ctype2;hnuage2;nnuage3;ctype3;hnuage3;nnuage4;ctype4;hnuage4"
).split(";")

# Three communes: 2A001 and 2A004 share a border, and 2B002 is far from both.
COMMUNE_SQUARES = {
    "2A001": ("Afa", 8.80, 41.90),
    "2A004": ("Ajaccio", 8.81, 41.90),
    "2B002": ("Aghione", 9.40, 42.10),
}


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    """Return the GeoJSON coordinates of a square polygon with its south-west corner at lon, lat."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return [ring]


def write_communes(folder: Path, squares: Mapping[str, tuple[str, float, float]] = COMMUNE_SQUARES):
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "nom": name},
            "geometry": {"type": "Polygon", "coordinates": square(lon, lat)},
        }
        for code, (name, lon, lat) in squares.items()
    ]
    path = folder / "communes" / "communes-corse.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def fire_line(
    year: object,
    number: object,
    department: str,
    code: str,
    alert: str,
    area_m2: object,
    cause: str = "",
) -> str:
    fields = [str(year), str(number), department, code, "Commune", alert, str(area_m2)]
    fields += [""] * 11 + [cause] + [""] * 5
    return ";".join(fields)


def write_text_file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text`, gzip-compressed when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_fires(
    folder: Path,
    name: str,
    lines: Iterable[str],
    preamble: Sequence[str] = (),
    encoding: str = "utf-8",
) -> Path:
    text = "\n".join([*preamble, FIRE_HEADER, *lines]) + "\n"
    return write_text_file(folder / "fires" / name, text, encoding)


def synop_line(station: str, time: str, **values: object) -> str:
    """Return one SYNOP row: `time` as YYYYMMDDHHMMSS, unspecified values as `mq`."""
    row = {column: "mq" for column in SYNOP_COLUMNS}
    row.update(numer_sta=station, date=time)
    row.update({key: str(value) for key, value in values.items()})
    return ";".join(row[column] for column in SYNOP_COLUMNS) + ";"


def write_synop(folder: Path, name: str, lines: Iterable[str]) -> Path:
    text = "\n".join([";".join(SYNOP_COLUMNS) + ";", *lines]) + "\n"
    return write_text_file(folder / "weather" / "synop" / name, text)


def write_ecad(folder: Path, staid: int, rows: Iterable[tuple[str, int, int]]) -> Path:
    """Write an ECA&D RR file; each row is (YYYYMMDD, RR in 0.1 mm, Q_RR)."""
    header = [f"header line {index}" for index in range(19)]
    lines = [*header, "STAID, SOUID,    DATE,   RR, Q_RR"]
    lines += [f"{staid:6d},{9999:6d},{date},{rr:5d},{quality:5d}" for date, rr, quality in rows]
    name = f"RR_STAID{staid:06d}.txt"
    return write_text_file(folder / "weather" / "ecad" / name, "\n".join(lines) + "\n")


def write_meteofrance(folder: Path, name: str, columns: Sequence[str], rows: Iterable[Sequence]):
    lines = [";".join(columns), *(";".join(str(value) for value in row) for row in rows)]
    path = folder / "weather" / "meteofrance-daily" / name
    return write_text_file(path, "\n".join(lines) + "\n")


def make_small_folder(folder: Path) -> Path:
    """Write a small but complete data folder: 3 communes, 3 fires, one SYNOP day, ECA&D rain."""
    write_communes(folder)
    write_fires(
        folder,
        "fires.csv",
        [
            fire_line(2020, 1, "2A", "2A001", "01/07/2020 14:00", 20000, "Malveillance"),
            fire_line(2020, 2, "2A", "2A004", "02/07/2020 15:30", 500),
            fire_line(2020, 3, "2B", "2B002", "03/07/2020 01:30", 10000),
        ],
    )
    write_synop(
        folder,
        "synop.202007.csv.gz",
        [synop_line("07761", f"20200701{hour:02d}0000", t=295.15, u=60, ff=3) for hour in (0, 12)],
    )
    write_ecad(folder, 2209, [("20200701", 12, 0), ("20200702", 0, 0)])
    return folder
