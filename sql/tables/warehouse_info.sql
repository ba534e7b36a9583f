-- Facts about the warehouse itself: `catalog_path`, the catalog it was built from (one
-- catalog, one warehouse: another catalog is refused unless the user says --replace).
CREATE TABLE IF NOT EXISTS warehouse_info (
    key         VARCHAR NOT NULL,
    value       VARCHAR NOT NULL,
    updated_at  TIMESTAMP
);
