"""The GeoPackage side of the embedded registry file: the tables that make QGIS and GDAL see layers.

OGC GeoPackage 1.3: ``gpkg_spatial_ref_sys`` (with EPSG:4326 and the two undefined systems),
``gpkg_contents`` (one row per feature table) and ``gpkg_geometry_columns``; the file's
``application_id`` is ``GPKG`` and its ``user_version`` 10300.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
    '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
    'AUTHORITY["EPSG","4326"]]'
)

_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '', last_change DATETIME NOT NULL
            DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
)


def create_gpkg_tables(connection: Connection) -> None:
    """Create the GeoPackage metadata tables and their required spatial reference systems."""
    for ddl in _DDL:
        connection.execute(text(ddl))
    rows = [
        (
            "Undefined cartesian SRS",
            -1,
            "NONE",
            -1,
            "undefined",
            "undefined cartesian coordinate reference system",
        ),
        (
            "Undefined geographic SRS",
            0,
            "NONE",
            0,
            "undefined",
            "undefined geographic coordinate reference system",
        ),
        (
            "WGS 84 geodetic",
            4326,
            "EPSG",
            4326,
            _WGS84_WKT,
            "longitude/latitude coordinates in decimal degrees",
        ),
    ]
    for row in rows:
        connection.execute(
            text("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (:n, :i, :o, :c, :d, :s)"),
            dict(zip("niocds", row, strict=True)),
        )
    connection.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.exec_driver_sql(f"PRAGMA user_version = {USER_VERSION}")


def register_feature_table(connection: Connection, table: str, description: str) -> None:
    """Register ``table`` (geometry column ``geometry``, MULTIPOLYGON, EPSG:4326) as a feature layer."""
    connection.execute(
        text(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
            "VALUES (:t, 'features', :t, :d, 4326)"
        ),
        {"t": table, "d": description},
    )
    connection.execute(
        text(
            "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (:t, 'geometry', 'MULTIPOLYGON', 4326, 0, 0)"
        ),
        {"t": table},
    )
