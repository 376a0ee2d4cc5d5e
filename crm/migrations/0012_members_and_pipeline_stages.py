"""An opportunity's owner and a task's assignee are members of the row's organization,
and an opportunity's stage belongs to its pipeline (ADR 0009)."""

from django.db import migrations

from smartweb.tenancy.operations import MemberReference

# The stage is what users moved; an opportunity whose pipeline disagrees takes the stage's.
STAGE_OF_PIPELINE = """
ALTER TABLE crm_opportunity NO FORCE ROW LEVEL SECURITY;
UPDATE crm_opportunity o SET pipeline_id = s.pipeline_id
  FROM crm_pipelinestage s
 WHERE s.id = o.stage_id AND o.pipeline_id <> s.pipeline_id;
ALTER TABLE crm_opportunity FORCE ROW LEVEL SECURITY;
ALTER TABLE crm_pipelinestage
  ADD CONSTRAINT crm_pipelinestage_pipeline_id_key UNIQUE (pipeline_id, id);
ALTER TABLE crm_opportunity
  ADD CONSTRAINT crm_opportunity_stage_of_pipeline_fk FOREIGN KEY (pipeline_id, stage_id)
  REFERENCES crm_pipelinestage (pipeline_id, id);
"""
STAGE_OF_PIPELINE_REVERSE = """
ALTER TABLE crm_opportunity DROP CONSTRAINT IF EXISTS crm_opportunity_stage_of_pipeline_fk;
ALTER TABLE crm_pipelinestage DROP CONSTRAINT IF EXISTS crm_pipelinestage_pipeline_id_key;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_scope_parent_index_carries_id"),
        ("accounts", "0007_identity_guards"),
    ]

    operations = [
        MemberReference("opportunity", "owner"),
        MemberReference("task", "assigned_to"),
        migrations.RunSQL(STAGE_OF_PIPELINE, reverse_sql=STAGE_OF_PIPELINE_REVERSE),
    ]
