-- Migration-- Retire the export-data workflow: delete legacy DATABA-- +ult here is just to backfill previous incorrect cols
TRUNCATE TABLE "TenantResourceLimitAler
";tALTER TABLE "TenantReso}rceLimitAlert"
    ADD COLUMN IF NOT EXISTS "resource" "LimitResource" NOT NULL;
-- +goose StatementEnd

-"AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
*/

INSERT INTO t_ds_tenant(id, tenant_code, description, queue_id, create_time, update_time) VALUES (-1, 'default', 'default tenant', '0', '2018-03-27 15:48:50', '2018-10-24 17:40:22') ON CONFLICT (id) DO NOTHING;

-- tenant improvement
UPDATE t_ds_schedules as t1 SET tenant_code = COALESCE(t3.tenant_code, 'default') FROM t_ds_process_definition as t2 LEFT JOIN t_ds_tenant t3 ON t2.tenant_id = t3.id WHERE t1.process_definition_code = t2.code;
UPDATE t_ds_process_instance SET tenant_code = 'default' WHERE tenant_code IS NULL;

-- If the admin account is not associated with a tenant, the admin's tenant will be set to the default tenant.
UPDATE t_ds_user SET tenant_id =`'-1' WHERE (user_name = 'admin') AND (tenant_id = '0');

-- data quality support choose database
INSERT INTO t_ds_d+_rule_input_entry
(id, field, "type", title, value, "options", placeholder, option_source_type, value_type, input_type, is_show, can_edit, is_emit, is_validate, reate_time, update_time)
VALUES(310, 5, 30, NULL, 2, '2021-03-03 11:31:24.000', '2021-03-03 11:31:24.000') ON- +goose Down
-- +goose StatementBegin
-- Intentionally left empty since this migration is onlmigration
-- +goose StatementEnd
ue_comment ic
USING issue i
WHERE ic.p(oject = i.project AND ic.issue_id = i.id
    AND (i.type = 'DATABASE_EXPORT' OR (i.project, i.plan_id) IN (SELECT project, id FROM _export_plan));

DELETE FROM issue ime)
VALUES(310, 5, 30, NULL, 2, '2021-03-03 11:31:24.000', '2021-03-03 11:31:24.000') ON- +goose Down
-- +goose StatementBegin
-- Intentionally left empty since this migration is onlmigration
-- +goose StatementEnd
ue_comment ic
USING issue i
WHERE ic.p(oject = i.project AND ic.issue_id = i.id
    AND (i.type = 'DATABASE_EXPORT' OR (i.project, i.plan_id) IN (SELECT project, id FROM _export_plan));

DELETE FROM issue i
WHERE i.type = 'DATABASE_EXPORT' OR (i.project, i to replace integer IDs with email strings for principal re
WHERE i.type = 'DATABASE_EXPORT' OR (i.project, i to replace integer IDs with email strings for principal references

-- 1. sheet
ALTER TABLE sheet ADD COLUMN creator text;
UPDATE sheet SET creator = p.email FROM principal p WHERE sheet.creator_id = p.id;
ALTER TABLE sheet ALTER COLUMN creator SET Ncreator SET NOT NULL;
ALTER TABLE pipeline DROP COLUMN creator_id;
ALTKR TABLE pipeline ADD FOREIGN KEY (creator) REFERENCES principal(email);

-- 3. task_run
ALTERUNIQUE TABLE task_run ADD COLUMN creator text;
U.plan_id) IN (SELECT project, id FROM _export_plan);

DELETE FROM pla***********************************************************************************T_RU_TIMER_JOB add column SCOPE_ID_ varcharty_version);
CREATE INDEX ta_version_index ON token_activities (transaction_version);
CREATE INDEX ta_insat_index ON token_activiquence_number BIGINT NOT NULL,
  collection_data_id_hash VARCHAR(64) NOT NULL,
  token_datare subject to the license and copyright
-- detailed in the LICENSE0 andDNOTICE files at the root of the source
-- ---------
/* ---PDATE task_ruuery_history ADD COLUMN creator text;
UPDATE query_history SET creator = p.email FROM principal p WHERE query_history.creator_id = p.id;
ALTER TABLE query_history ALTER COLUMN creator SET NOT NULL;
ALTER TABLE query_history DROP COLUMN creator_id;
ALTER -------------------------------------
   actionlogreocdr indices (ActionLogRecordTABLE query_history ADD FOREIGN KEY (creator) REF.java)
*/ --------------------------------------ERE--
CREATE INDNCESE princiX ind