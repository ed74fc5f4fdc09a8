-- OMOP CDM 5.4 DDL: the subset of tables cohortql relies on.
-- Column lists and nullability follow the official OHDSI CommonDataModel 5.4 DDL
-- (inst/ddl/5.4/postgresql/OMOPCDM_postgresql_5.4_ddl.sql), with portable types:
--   every integer *_id column (keys and concept ids) is BIGINT, other integers are INTEGER;
--   NUMERIC value columns are DOUBLE PRECISION (DuckDB reads a bare NUMERIC as
--   DECIMAL(18,3), which would round lab values);
--   TEXT columns of the official DDL stay TEXT (valid in DuckDB and PostgreSQL).
-- Table names are unqualified: the caller chooses the schema (search_path / USE).
-- No primary keys, foreign keys or indexes: loaders add them if they want them.

-- Clinical data

CREATE TABLE person (
    person_id BIGINT NOT NULL,
    gender_concept_id BIGINT NOT NULL,
    year_of_birth INTEGER NOT NULL,
    month_of_birth INTEGER NULL,
    day_of_birth INTEGER NULL,
    birth_datetime TIMESTAMP NULL,
    race_concept_id BIGINT NOT NULL,
    ethnicity_concept_id BIGINT NOT NULL,
    location_id BIGINT NULL,
    provider_id BIGINT NULL,
    care_site_id BIGINT NULL,
    person_source_value VARCHAR(50) NULL,
    gender_source_value VARCHAR(50) NULL,
    gender_source_concept_id BIGINT NULL,
    race_source_value VARCHAR(50) NULL,
    race_source_concept_id BIGINT NULL,
    ethnicity_source_value VARCHAR(50) NULL,
    ethnicity_source_concept_id BIGINT NULL
);

CREATE TABLE observation_period (
    observation_period_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    observation_period_start_date DATE NOT NULL,
    observation_period_end_date DATE NOT NULL,
    period_type_concept_id BIGINT NOT NULL
);

CREATE TABLE visit_occurrence (
    visit_occurrence_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    visit_concept_id BIGINT NOT NULL,
    visit_start_date DATE NOT NULL,
    visit_start_datetime TIMESTAMP NULL,
    visit_end_date DATE NOT NULL,
    visit_end_datetime TIMESTAMP NULL,
    visit_type_concept_id BIGINT NOT NULL,
    provider_id BIGINT NULL,
    care_site_id BIGINT NULL,
    visit_source_value VARCHAR(50) NULL,
    visit_source_concept_id BIGINT NULL,
    admitted_from_concept_id BIGINT NULL,
    admitted_from_source_value VARCHAR(50) NULL,
    discharged_to_concept_id BIGINT NULL,
    discharged_to_source_value VARCHAR(50) NULL,
    preceding_visit_occurrence_id BIGINT NULL
);

CREATE TABLE condition_occurrence (
    condition_occurrence_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    condition_concept_id BIGINT NOT NULL,
    condition_start_date DATE NOT NULL,
    condition_start_datetime TIMESTAMP NULL,
    condition_end_date DATE NULL,
    condition_end_datetime TIMESTAMP NULL,
    condition_type_concept_id BIGINT NOT NULL,
    condition_status_concept_id BIGINT NULL,
    stop_reason VARCHAR(20) NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    condition_source_value VARCHAR(50) NULL,
    condition_source_concept_id BIGINT NULL,
    condition_status_source_value VARCHAR(50) NULL
);

CREATE TABLE drug_exposure (
    drug_exposure_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    drug_concept_id BIGINT NOT NULL,
    drug_exposure_start_date DATE NOT NULL,
    drug_exposure_start_datetime TIMESTAMP NULL,
    drug_exposure_end_date DATE NOT NULL,
    drug_exposure_end_datetime TIMESTAMP NULL,
    verbatim_end_date DATE NULL,
    drug_type_concept_id BIGINT NOT NULL,
    stop_reason VARCHAR(20) NULL,
    refills INTEGER NULL,
    quantity DOUBLE PRECISION NULL,
    days_supply INTEGER NULL,
    sig TEXT NULL,
    route_concept_id BIGINT NULL,
    lot_number VARCHAR(50) NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    drug_source_value VARCHAR(50) NULL,
    drug_source_concept_id BIGINT NULL,
    route_source_value VARCHAR(50) NULL,
    dose_unit_source_value VARCHAR(50) NULL
);

CREATE TABLE procedure_occurrence (
    procedure_occurrence_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    procedure_concept_id BIGINT NOT NULL,
    procedure_date DATE NOT NULL,
    procedure_datetime TIMESTAMP NULL,
    procedure_end_date DATE NULL,
    procedure_end_datetime TIMESTAMP NULL,
    procedure_type_concept_id BIGINT NOT NULL,
    modifier_concept_id BIGINT NULL,
    quantity INTEGER NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    procedure_source_value VARCHAR(50) NULL,
    procedure_source_concept_id BIGINT NULL,
    modifier_source_value VARCHAR(50) NULL
);

CREATE TABLE device_exposure (
    device_exposure_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    device_concept_id BIGINT NOT NULL,
    device_exposure_start_date DATE NOT NULL,
    device_exposure_start_datetime TIMESTAMP NULL,
    device_exposure_end_date DATE NULL,
    device_exposure_end_datetime TIMESTAMP NULL,
    device_type_concept_id BIGINT NOT NULL,
    unique_device_id VARCHAR(255) NULL,
    production_id VARCHAR(255) NULL,
    quantity INTEGER NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    device_source_value VARCHAR(50) NULL,
    device_source_concept_id BIGINT NULL,
    unit_concept_id BIGINT NULL,
    unit_source_value VARCHAR(50) NULL,
    unit_source_concept_id BIGINT NULL
);

CREATE TABLE measurement (
    measurement_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    measurement_concept_id BIGINT NOT NULL,
    measurement_date DATE NOT NULL,
    measurement_datetime TIMESTAMP NULL,
    measurement_time VARCHAR(10) NULL,
    measurement_type_concept_id BIGINT NOT NULL,
    operator_concept_id BIGINT NULL,
    value_as_number DOUBLE PRECISION NULL,
    value_as_concept_id BIGINT NULL,
    unit_concept_id BIGINT NULL,
    range_low DOUBLE PRECISION NULL,
    range_high DOUBLE PRECISION NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    measurement_source_value VARCHAR(50) NULL,
    measurement_source_concept_id BIGINT NULL,
    unit_source_value VARCHAR(50) NULL,
    unit_source_concept_id BIGINT NULL,
    value_source_value VARCHAR(50) NULL,
    measurement_event_id BIGINT NULL,
    meas_event_field_concept_id BIGINT NULL
);

CREATE TABLE observation (
    observation_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    observation_concept_id BIGINT NOT NULL,
    observation_date DATE NOT NULL,
    observation_datetime TIMESTAMP NULL,
    observation_type_concept_id BIGINT NOT NULL,
    value_as_number DOUBLE PRECISION NULL,
    value_as_string VARCHAR(60) NULL,
    value_as_concept_id BIGINT NULL,
    qualifier_concept_id BIGINT NULL,
    unit_concept_id BIGINT NULL,
    provider_id BIGINT NULL,
    visit_occurrence_id BIGINT NULL,
    visit_detail_id BIGINT NULL,
    observation_source_value VARCHAR(50) NULL,
    observation_source_concept_id BIGINT NULL,
    unit_source_value VARCHAR(50) NULL,
    qualifier_source_value VARCHAR(50) NULL,
    value_source_value VARCHAR(50) NULL,
    observation_event_id BIGINT NULL,
    obs_event_field_concept_id BIGINT NULL
);

CREATE TABLE death (
    person_id BIGINT NOT NULL,
    death_date DATE NOT NULL,
    death_datetime TIMESTAMP NULL,
    death_type_concept_id BIGINT NULL,
    cause_concept_id BIGINT NULL,
    cause_source_value VARCHAR(50) NULL,
    cause_source_concept_id BIGINT NULL
);

-- Health system data

CREATE TABLE location (
    location_id BIGINT NOT NULL,
    address_1 VARCHAR(50) NULL,
    address_2 VARCHAR(50) NULL,
    city VARCHAR(50) NULL,
    state VARCHAR(2) NULL,
    zip VARCHAR(9) NULL,
    county VARCHAR(20) NULL,
    location_source_value VARCHAR(50) NULL,
    country_concept_id BIGINT NULL,
    country_source_value VARCHAR(80) NULL,
    latitude DOUBLE PRECISION NULL,
    longitude DOUBLE PRECISION NULL
);

CREATE TABLE care_site (
    care_site_id BIGINT NOT NULL,
    care_site_name VARCHAR(255) NULL,
    place_of_service_concept_id BIGINT NULL,
    location_id BIGINT NULL,
    care_site_source_value VARCHAR(50) NULL,
    place_of_service_source_value VARCHAR(50) NULL
);

-- Derived elements

CREATE TABLE drug_era (
    drug_era_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    drug_concept_id BIGINT NOT NULL,
    drug_era_start_date DATE NOT NULL,
    drug_era_end_date DATE NOT NULL,
    drug_exposure_count INTEGER NULL,
    gap_days INTEGER NULL
);

CREATE TABLE condition_era (
    condition_era_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    condition_concept_id BIGINT NOT NULL,
    condition_era_start_date DATE NOT NULL,
    condition_era_end_date DATE NOT NULL,
    condition_occurrence_count INTEGER NULL
);

-- Metadata

CREATE TABLE cdm_source (
    cdm_source_name VARCHAR(255) NOT NULL,
    cdm_source_abbreviation VARCHAR(25) NOT NULL,
    cdm_holder VARCHAR(255) NOT NULL,
    source_description TEXT NULL,
    source_documentation_reference VARCHAR(255) NULL,
    cdm_etl_reference VARCHAR(255) NULL,
    source_release_date DATE NOT NULL,
    cdm_release_date DATE NOT NULL,
    cdm_version VARCHAR(10) NULL,
    cdm_version_concept_id BIGINT NOT NULL,
    vocabulary_version VARCHAR(20) NOT NULL
);

-- Vocabulary

CREATE TABLE concept (
    concept_id BIGINT NOT NULL,
    concept_name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(20) NOT NULL,
    vocabulary_id VARCHAR(20) NOT NULL,
    concept_class_id VARCHAR(20) NOT NULL,
    standard_concept VARCHAR(1) NULL,
    concept_code VARCHAR(50) NOT NULL,
    valid_start_date DATE NOT NULL,
    valid_end_date DATE NOT NULL,
    invalid_reason VARCHAR(1) NULL
);

CREATE TABLE vocabulary (
    vocabulary_id VARCHAR(20) NOT NULL,
    vocabulary_name VARCHAR(255) NOT NULL,
    vocabulary_reference VARCHAR(255) NULL,
    vocabulary_version VARCHAR(255) NULL,
    vocabulary_concept_id BIGINT NOT NULL
);

CREATE TABLE concept_relationship (
    concept_id_1 BIGINT NOT NULL,
    concept_id_2 BIGINT NOT NULL,
    relationship_id VARCHAR(20) NOT NULL,
    valid_start_date DATE NOT NULL,
    valid_end_date DATE NOT NULL,
    invalid_reason VARCHAR(1) NULL
);

CREATE TABLE concept_ancestor (
    ancestor_concept_id BIGINT NOT NULL,
    descendant_concept_id BIGINT NOT NULL,
    min_levels_of_separation INTEGER NOT NULL,
    max_levels_of_separation INTEGER NOT NULL
);
