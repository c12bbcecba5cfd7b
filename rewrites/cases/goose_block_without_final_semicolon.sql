-- +goose Up
-- +goose StatementBegin
-- hatchet 20250519145912_v1_0_21: the block's last statement has no `;` (goose's StatementEnd ends
-- it); the plan's one transaction step must not glue its COMMIT to it.
CREATE TYPE "TenantMajorUIVersion" AS ENUM (
    'V0',
    'V1'
);

ALTER TABLE "Tenant"
ADD COLUMN "uiVersion" "TenantMajorUIVersion" NOT NULL DEFAULT 'V0'
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
ALTER TABLE "Tenant"
DROP COLUMN "uiVersion";

DROP TYPE "TenantMajorUIVersion"
-- +goose StatementEnd
