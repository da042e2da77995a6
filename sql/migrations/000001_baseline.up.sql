-- Baseline (spec 03 §6 version 1): the legacy schema at Alembic head 99895af5dae2 when the
-- database has none (spec 03 §3, Alembic variant, no server defaults), then the product tables
-- of spec 03 §5.1-5.5. Idempotent, because adoption runs it on an existing database: the legacy
-- part only runs on a database without legacy tables, product objects are created when missing.

DO $legacy$
BEGIN
    IF to_regclass('public.benchmark_result') IS NOT NULL THEN
        RETURN;
    END IF;

    CREATE TABLE public.alembic_version (
        version_num character varying(32) NOT NULL,
        CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
    );

    CREATE TABLE public."case" (
        id character varying(50) NOT NULL,
        name text NOT NULL,
        tags jsonb NOT NULL,
        CONSTRAINT case_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public.context (
        id character varying(50) NOT NULL,
        tags jsonb NOT NULL,
        CONSTRAINT context_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public.info (
        id character varying(50) NOT NULL,
        tags jsonb NOT NULL,
        CONSTRAINT info_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public.hardware (
        id character varying(50) NOT NULL,
        name text NOT NULL,
        architecture_name text,
        kernel_name text,
        os_name text,
        os_version text,
        cpu_model_name text,
        cpu_l1d_cache_bytes integer,
        cpu_l1i_cache_bytes integer,
        cpu_l2_cache_bytes integer,
        cpu_l3_cache_bytes integer,
        cpu_core_count integer,
        cpu_thread_count integer,
        cpu_frequency_max_hz bigint,
        memory_bytes bigint,
        gpu_count integer,
        gpu_product_names text[],
        type character varying(50) NOT NULL,
        info jsonb,
        optional_info jsonb,
        hash character varying(1000) NOT NULL,
        CONSTRAINT hardware_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public.commit (
        id character varying(50) NOT NULL,
        sha character varying(50) NOT NULL,
        parent character varying(50),
        repository character varying(300) NOT NULL,
        message character varying(250) NOT NULL,
        author_name character varying(100) NOT NULL,
        author_login character varying(50),
        author_avatar character varying(100),
        "timestamp" timestamp without time zone,
        branch character varying(510),
        fork_point_sha character varying(50),
        CONSTRAINT commit_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public."user" (
        id character varying(50) NOT NULL,
        email character varying(120) NOT NULL,
        name character varying(120) NOT NULL,
        password character varying(128) NOT NULL,
        CONSTRAINT user_pkey PRIMARY KEY (id)
    );

    CREATE TABLE public.benchmark_result (
        id character varying(50) NOT NULL,
        case_id character varying(50) NOT NULL,
        context_id character varying(50) NOT NULL,
        run_id text NOT NULL,
        unit text,
        time_unit text,
        batch_id text,
        "timestamp" timestamp without time zone NOT NULL,
        iterations integer,
        min numeric,
        max numeric,
        mean numeric,
        median numeric,
        stdev numeric,
        q1 numeric,
        q3 numeric,
        iqr numeric,
        info_id character varying(50) NOT NULL,
        error jsonb,
        data numeric[],
        times numeric[],
        validation jsonb,
        optional_benchmark_info jsonb,
        change_annotations jsonb,
        run_tags jsonb NOT NULL,
        run_reason text,
        commit_id character varying(50),
        hardware_id character varying(50) NOT NULL,
        commit_repo_url text NOT NULL,
        history_fingerprint text NOT NULL,
        CONSTRAINT benchmark_result_pkey PRIMARY KEY (id),
        CONSTRAINT benchmark_result_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case" (id),
        CONSTRAINT benchmark_result_commit_id_fkey FOREIGN KEY (commit_id) REFERENCES public.commit (id),
        CONSTRAINT benchmark_result_context_id_fkey
            FOREIGN KEY (context_id) REFERENCES public.context (id),
        CONSTRAINT benchmark_result_hardware_id_fkey
            FOREIGN KEY (hardware_id) REFERENCES public.hardware (id),
        CONSTRAINT benchmark_result_info_id_fkey FOREIGN KEY (info_id) REFERENCES public.info (id)
    );

    CREATE INDEX benchmark_result_batch_id_index ON public.benchmark_result USING btree (batch_id);
    CREATE INDEX benchmark_result_case_id_index ON public.benchmark_result USING btree (case_id);
    CREATE INDEX benchmark_result_commit_id_index ON public.benchmark_result USING btree (commit_id);
    CREATE INDEX benchmark_result_context_id_index
        ON public.benchmark_result USING btree (context_id);
    CREATE INDEX benchmark_result_history_fingerprint_index
        ON public.benchmark_result USING btree (history_fingerprint);
    CREATE INDEX benchmark_result_id_idx
        ON public.benchmark_result USING btree (id)
        WHERE ("timestamp" >= '2023-06-03 00:00:00'::timestamp without time zone);
    CREATE INDEX benchmark_result_info_id_index ON public.benchmark_result USING btree (info_id);
    CREATE INDEX benchmark_result_run_id_index ON public.benchmark_result USING btree (run_id);
    CREATE INDEX benchmark_result_run_id_timestamp_idx
        ON public.benchmark_result USING btree (run_id, "timestamp")
        WHERE ("timestamp" >= '2023-11-19 00:00:00'::timestamp without time zone);
    CREATE INDEX benchmark_result_run_reason_id_idx
        ON public.benchmark_result USING btree (run_reason, id)
        WHERE ("timestamp" >= '2023-06-03 00:00:00'::timestamp without time zone);
    CREATE INDEX benchmark_result_timestamp_index
        ON public.benchmark_result USING btree ("timestamp");
    CREATE UNIQUE INDEX case_index ON public."case" USING btree (name, tags);
    CREATE UNIQUE INDEX commit_index ON public.commit USING btree (sha, repository);
    CREATE UNIQUE INDEX context_index ON public.context USING btree (tags);
    CREATE UNIQUE INDEX hardware_index ON public.hardware USING btree (
        name, architecture_name, kernel_name, os_name, os_version, cpu_model_name,
        cpu_l1d_cache_bytes, cpu_l1i_cache_bytes, cpu_l2_cache_bytes, cpu_l3_cache_bytes,
        cpu_core_count, cpu_thread_count, cpu_frequency_max_hz, memory_bytes, gpu_count,
        gpu_product_names
    );
    CREATE UNIQUE INDEX ix_user_email ON public."user" USING btree (email);

    -- Stamped at head so the legacy Flask application (the rollback path) sees an up-to-date
    -- Alembic database rather than an empty one it would try to create from scratch.
    INSERT INTO public.alembic_version (version_num) VALUES ('99895af5dae2');
END
$legacy$;

CREATE TABLE IF NOT EXISTS public.api_token (
    id character varying(50) NOT NULL,
    user_id character varying(50) NOT NULL,
    name text NOT NULL,
    token_hash text NOT NULL,
    token_prefix text NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_used_at timestamp without time zone,
    revoked_at timestamp without time zone,
    CONSTRAINT api_token_pkey PRIMARY KEY (id),
    CONSTRAINT api_token_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_token_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user" (id)
);

CREATE TABLE IF NOT EXISTS public.cli_login_code (
    code_hash text NOT NULL,
    user_id character varying(50) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    redeemed_at timestamp without time zone,
    CONSTRAINT cli_login_code_pkey PRIMARY KEY (code_hash),
    CONSTRAINT cli_login_code_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user" (id)
);

CREATE INDEX IF NOT EXISTS cli_login_code_expires_at_index
    ON public.cli_login_code USING btree (expires_at);

CREATE TABLE IF NOT EXISTS public.alert_rule (
    id character varying(50) NOT NULL,
    user_id character varying(50) NOT NULL,
    name text NOT NULL,
    repository text NOT NULL,
    baseline text NOT NULL,
    threshold double precision NOT NULL,
    threshold_z double precision NOT NULL,
    run_reason text,
    enabled boolean DEFAULT true NOT NULL,
    state text DEFAULT 'inactive'::text NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    last_evaluated_at timestamp without time zone,
    CONSTRAINT alert_rule_pkey PRIMARY KEY (id),
    CONSTRAINT alert_rule_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user" (id)
);

-- Databases adopted from the Go design have alert_rule without these CHECKs: they are added
-- NOT VALID (no long lock) and validated separately.
DO $checks$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_constraint
        WHERE conrelid = 'public.alert_rule'::regclass AND conname = 'alert_rule_baseline_check'
    ) THEN
        ALTER TABLE public.alert_rule ADD CONSTRAINT alert_rule_baseline_check
            CHECK (baseline IN ('fork_point', 'parent', 'latest_default')) NOT VALID;
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_constraint
        WHERE conrelid = 'public.alert_rule'::regclass AND conname = 'alert_rule_state_check'
    ) THEN
        ALTER TABLE public.alert_rule ADD CONSTRAINT alert_rule_state_check
            CHECK (state IN ('inactive', 'open')) NOT VALID;
    END IF;
END
$checks$;

ALTER TABLE public.alert_rule VALIDATE CONSTRAINT alert_rule_baseline_check;
ALTER TABLE public.alert_rule VALIDATE CONSTRAINT alert_rule_state_check;

CREATE INDEX IF NOT EXISTS alert_rule_user_id_index ON public.alert_rule USING btree (user_id);
CREATE INDEX IF NOT EXISTS alert_rule_enabled_repository_index
    ON public.alert_rule USING btree (enabled, repository);

CREATE TABLE IF NOT EXISTS public.alert_event (
    id character varying(50) NOT NULL,
    rule_id character varying(50) NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    status_reason text NOT NULL,
    run_id text,
    commit_sha text,
    report_url text NOT NULL,
    summary jsonb NOT NULL,
    created_at timestamp without time zone NOT NULL,
    repository text NOT NULL,
    CONSTRAINT alert_event_pkey PRIMARY KEY (id),
    CONSTRAINT alert_event_rule_id_fkey
        FOREIGN KEY (rule_id) REFERENCES public.alert_rule (id) ON DELETE CASCADE
);

-- Go-design Alembic revisions before 9d5f3c1a7b2e have alert_event without `repository`;
-- that revision filled it from the rule, as this does.
DO $repository$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = 'public.alert_event'::regclass
          AND attname = 'repository'
          AND NOT attisdropped
    ) THEN
        ALTER TABLE public.alert_event ADD COLUMN repository text;
        UPDATE public.alert_event AS e
        SET repository = r.repository
        FROM public.alert_rule AS r
        WHERE r.id = e.rule_id;
        ALTER TABLE public.alert_event ALTER COLUMN repository SET NOT NULL;
    END IF;
END
$repository$;

CREATE INDEX IF NOT EXISTS alert_event_rule_created_index
    ON public.alert_event USING btree (rule_id, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS public.alert_delivery (
    id character varying(50) NOT NULL,
    event_id character varying(50) NOT NULL,
    channel text NOT NULL,
    target text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    last_attempt_at timestamp without time zone,
    next_attempt_at timestamp without time zone,
    delivered_at timestamp without time zone,
    last_error text,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    CONSTRAINT alert_delivery_pkey PRIMARY KEY (id),
    CONSTRAINT alert_delivery_event_channel_target_key UNIQUE (event_id, channel, target),
    CONSTRAINT alert_delivery_event_id_fkey
        FOREIGN KEY (event_id) REFERENCES public.alert_event (id) ON DELETE CASCADE,
    CONSTRAINT alert_delivery_status_check CHECK (status IN ('pending', 'delivered', 'failed'))
);

CREATE INDEX IF NOT EXISTS alert_delivery_event_id_index
    ON public.alert_delivery USING btree (event_id);
CREATE INDEX IF NOT EXISTS alert_delivery_channel_status_next_attempt_index
    ON public.alert_delivery USING btree (channel, status, next_attempt_at, created_at, id);

-- conbench:verify
SELECT format('missing %s %s', expected.kind, expected.name) AS problem
FROM (
    VALUES
        ('table', 'benchmark_result', to_regclass('public.benchmark_result') IS NOT NULL),
        ('table', 'case', to_regclass('public."case"') IS NOT NULL),
        ('table', 'context', to_regclass('public.context') IS NOT NULL),
        ('table', 'info', to_regclass('public.info') IS NOT NULL),
        ('table', 'hardware', to_regclass('public.hardware') IS NOT NULL),
        ('table', 'commit', to_regclass('public.commit') IS NOT NULL),
        ('table', 'user', to_regclass('public."user"') IS NOT NULL),
        ('table', 'api_token', to_regclass('public.api_token') IS NOT NULL),
        ('table', 'cli_login_code', to_regclass('public.cli_login_code') IS NOT NULL),
        ('table', 'alert_rule', to_regclass('public.alert_rule') IS NOT NULL),
        ('table', 'alert_event', to_regclass('public.alert_event') IS NOT NULL),
        ('table', 'alert_delivery', to_regclass('public.alert_delivery') IS NOT NULL),
        ('column', 'alert_event.repository', EXISTS (
            SELECT FROM pg_attribute
            WHERE attrelid = to_regclass('public.alert_event')
              AND attname = 'repository'
              AND attnotnull
              AND NOT attisdropped)),
        ('index', 'api_token_token_hash_key', to_regclass('public.api_token_token_hash_key') IS NOT NULL),
        ('index', 'cli_login_code_expires_at_index',
            to_regclass('public.cli_login_code_expires_at_index') IS NOT NULL),
        ('index', 'alert_rule_user_id_index', to_regclass('public.alert_rule_user_id_index') IS NOT NULL),
        ('index', 'alert_rule_enabled_repository_index',
            to_regclass('public.alert_rule_enabled_repository_index') IS NOT NULL),
        ('index', 'alert_event_rule_created_index',
            to_regclass('public.alert_event_rule_created_index') IS NOT NULL),
        ('index', 'alert_delivery_event_channel_target_key',
            to_regclass('public.alert_delivery_event_channel_target_key') IS NOT NULL),
        ('index', 'alert_delivery_event_id_index',
            to_regclass('public.alert_delivery_event_id_index') IS NOT NULL),
        ('index', 'alert_delivery_channel_status_next_attempt_index',
            to_regclass('public.alert_delivery_channel_status_next_attempt_index') IS NOT NULL),
        ('validated constraint', 'alert_rule_baseline_check', EXISTS (
            SELECT FROM pg_constraint
            WHERE conrelid = to_regclass('public.alert_rule')
              AND conname = 'alert_rule_baseline_check'
              AND convalidated)),
        ('validated constraint', 'alert_rule_state_check', EXISTS (
            SELECT FROM pg_constraint
            WHERE conrelid = to_regclass('public.alert_rule')
              AND conname = 'alert_rule_state_check'
              AND convalidated)),
        ('validated constraint', 'alert_delivery_status_check', EXISTS (
            SELECT FROM pg_constraint
            WHERE conrelid = to_regclass('public.alert_delivery')
              AND conname = 'alert_delivery_status_check'
              AND convalidated))
) AS expected (kind, name, present)
WHERE NOT expected.present
