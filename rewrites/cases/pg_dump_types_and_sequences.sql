-- golden: schema=planeq-setup.sql
-- A pg_dump --schema-only fragment: every type gets `ALTER TYPE … OWNER TO`, every sequence
-- `ALTER TABLE … OWNER TO` and `ALTER SEQUENCE … OWNED BY`. All of it is new in the draft, so no
-- traffic waits on any of it: nothing to rewrite, and no statement left not understood.
SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET client_min_messages = warning;

CREATE TYPE public.ticket_state AS ENUM (
    'open',
    'closed'
);

ALTER TYPE public.ticket_state OWNER TO postgres;

CREATE TYPE public.ticket_place AS (
    city text,
    zip integer
);

ALTER TYPE public.ticket_place OWNER TO postgres;

CREATE TABLE public.tickets (
    id integer NOT NULL,
    state public.ticket_state DEFAULT 'open'::public.ticket_state NOT NULL,
    place public.ticket_place
);

ALTER TABLE public.tickets OWNER TO postgres;

CREATE SEQUENCE public.tickets_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER TABLE public.tickets_id_seq OWNER TO postgres;

ALTER SEQUENCE public.tickets_id_seq OWNED BY public.tickets.id;

ALTER TABLE ONLY public.tickets ALTER COLUMN id SET DEFAULT nextval('public.tickets_id_seq'::regclass);

SELECT pg_catalog.setval('public.tickets_id_seq', 1, false);

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_pkey PRIMARY KEY (id);

-- A serial column makes its sequence too.
CREATE TABLE public.ticket_notes (id bigserial PRIMARY KEY, body text);
ALTER SEQUENCE public.ticket_notes_id_seq RESTART WITH 100;
