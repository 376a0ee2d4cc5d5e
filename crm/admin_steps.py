"""The next steps on the opportunity, proposal, contract and task pages: move an
opportunity to any stage of its pipeline, mark it won or lost (with the reason) or reopen
a closed one, send, accept or reject a proposal, send a contract or record its signature,
mark a task done. Each runs
the service the API runs; only the steps the row's state and the user's permission allow
now are offered.
"""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.http import urlencode

from crm import services
from crm.choices import (
    CONTRACT_TRANSITIONS,
    PROPOSAL_TRANSITIONS,
    TASK_OPEN_STATUSES,
    ContractStatus,
    ProposalStatus,
)
from crm.close_reason import CloseReasonForm, move_arguments
from crm.exceptions import InvalidTransition
from crm.models import PipelineStage
from crm.proposal_reach import may_add_proposal
from sharing.admin import SHARE_STEP
from smartweb import access
from smartweb.admin_steps import Step
from smartweb.rbac import Action, Resource


class UpdateStep(Step):
    """A step that changes the row: the user's update permission on it."""

    def permitted(self, user, obj) -> bool:
        return access.can(user, Action.UPDATE, obj.rbac_resource, obj=obj)


# --- opportunities -----------------------------------------------------------------


class MoveForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=PipelineStage.objects.none(), empty_label=None)

    def __init__(self, *args, opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = PipelineStage.objects.filter(
            pipeline_id=opportunity.pipeline_id, is_won=False, is_lost=False
        ).exclude(pk=opportunity.stage_id)


class MoveStep(UpdateStep):
    name, label, done = "move", "Move to a stage", "Moved."
    form_class = MoveForm

    def available(self, obj) -> bool:
        return obj.is_open

    def form_kwargs(self, request, obj) -> dict:
        return {"opportunity": obj}

    def run(self, request, obj, data):
        services.opportunity_move_stage(
            opportunity=obj,
            stage=data["stage"],
            acting_user=request.user,
            seen_stage_id=obj.stage_id,
        )


class CloseStep(UpdateStep):
    """Into the pipeline's won or lost stage (`outcome`), which closes the opportunity;
    why is asked, checked and stored as the board does (`close_reason`)."""

    form_class = CloseReasonForm

    def __init__(self, outcome: str, label: str, done: str):
        self.outcome, self.name, self.label, self.done = outcome, outcome, label, done

    def available(self, obj) -> bool:
        return obj.is_open

    def form_kwargs(self, request, obj) -> dict:
        return {"outcome": self.outcome}

    def run(self, request, obj, data):
        stage = obj.pipeline.stage_flagged(f"is_{self.outcome}")
        if stage is None:
            raise InvalidTransition(f"The pipeline “{obj.pipeline}” has no such stage.")
        services.opportunity_move_stage(
            opportunity=obj,
            stage=stage,
            acting_user=request.user,
            seen_stage_id=obj.stage_id,
            **move_arguments(self.outcome, data["reason"]),
        )


class ReopenStep(UpdateStep):
    """A won or lost deal back into an open stage of its pipeline (the move the board and
    the API refuse unless reopening is said explicitly)."""

    name, label, done = "reopen", "Reopen", "Reopened."
    form_class = MoveForm

    def available(self, obj) -> bool:
        return not obj.is_open

    def form_kwargs(self, request, obj) -> dict:
        return {"opportunity": obj}

    def run(self, request, obj, data):
        services.opportunity_move_stage(
            opportunity=obj,
            stage=data["stage"],
            acting_user=request.user,
            reopen=True,
            seen_stage_id=obj.stage_id,
        )


class NewProposalStep(Step):
    """Work on the deal: for whoever may change it and whose role reaches its proposals,
    not a colleague it is shared with (`crm.proposal_reach`)."""

    name, label = "proposal", "Create a proposal"

    def permitted(self, user, obj) -> bool:
        return access.can(user, Action.CREATE, Resource.PROPOSALS) and may_add_proposal(user, obj)

    def available(self, obj) -> bool:
        return obj.is_open

    def link(self, obj) -> str:
        return f"{reverse('admin:crm_proposal_add')}?{urlencode({'opportunity': obj.pk})}"


OPPORTUNITY_STEPS: tuple[Step, ...] = (
    MoveStep(),
    CloseStep("won", "Mark won", "Marked won."),
    CloseStep("lost", "Mark lost", "Marked lost."),
    ReopenStep(),
    NewProposalStep(),
    SHARE_STEP,
)


# --- proposals and contracts -------------------------------------------------------


class StatusStep(UpdateStep):
    """A step along a status graph (`graph[current]` must allow `target`)."""

    graph: dict = {}
    target = ""

    def available(self, obj) -> bool:
        return self.target in self.graph.get(obj.status, ())


class ProposalStep(StatusStep):
    graph = PROPOSAL_TRANSITIONS

    def __init__(self, target: str, name: str, label: str, done: str, service):
        self.target, self.name, self.label, self.done = target, name, label, done
        self.service = service

    def run(self, request, obj, data):
        return self.service(proposal=obj, acting_user=request.user, **data)


class RejectForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SendForm(forms.Form):
    """Sent by email with its PDF, or handed over another way (printed, in person): then
    only marked sent, so that a lead who may not be emailed (no consent, do not contact,
    unsubscribed) can still be given it and answer it. A list action sends an empty form:
    by email."""

    handed_over = forms.BooleanField(
        required=False,
        label="Handed over another way",
        help_text="Ticked: marked sent without emailing the lead.",
    )


class SendProposalStep(ProposalStep):
    form_class = SendForm

    def available(self, obj) -> bool:
        # A draft needs a line to be sent (the service says so too).
        return super().available(obj) and obj.line_items.exists()

    def run(self, request, obj, data):
        return self.service(proposal=obj, acting_user=request.user, email=not data["handed_over"])


class AnswerStep(ProposalStep):
    """Accepting or rejecting: not once the proposal expired or its deal closed (the
    services refuse both then, for the same reason)."""

    def available(self, obj) -> bool:
        return (
            super().available(obj)
            and services.proposal_answer_refusal(proposal=obj, opportunity=obj.opportunity) is None
        )


class RejectStep(AnswerStep):
    form_class = RejectForm


PROPOSAL_STEPS: tuple[Step, ...] = (
    SendProposalStep(ProposalStatus.SENT, "send", "Send", "Proposal sent.", services.proposal_send),
    # Accepting draws the contract: the page goes on to it.
    AnswerStep(
        ProposalStatus.ACCEPTED,
        "accept",
        "Mark accepted",
        "Proposal accepted; its contract is drafted.",
        services.proposal_accept,
    ),
    RejectStep(
        ProposalStatus.REJECTED,
        "reject",
        "Mark rejected",
        "Proposal rejected.",
        services.proposal_reject,
    ),
)


class SignForm(forms.Form):
    signer_name = forms.CharField(max_length=200, label="Signed by")
    signer_email = forms.EmailField(required=False)
    signed_at = forms.DateTimeField(
        required=False, help_text="When it was signed (YYYY-MM-DD HH:MM); now if left empty."
    )

    def __init__(self, *args, contract, **kwargs):
        kwargs.setdefault(
            "initial", {"signer_name": contract.signer_name, "signer_email": contract.signer_email}
        )
        super().__init__(*args, **kwargs)


class ContractSendStep(StatusStep):
    graph, target = CONTRACT_TRANSITIONS, ContractStatus.SENT
    name, label, done = "send", "Send", "Contract sent."
    form_class = SendForm

    def run(self, request, obj, data):
        services.contract_send(
            contract=obj, acting_user=request.user, email=not data["handed_over"]
        )


class SignStep(StatusStep):
    graph, target = CONTRACT_TRANSITIONS, ContractStatus.SIGNED
    name, label = "sign", "Record the signature"
    done = "Signature recorded: the opportunity is won and the lead converted."
    form_class = SignForm

    def form_kwargs(self, request, obj) -> dict:
        return {"contract": obj}

    def run(self, request, obj, data):
        services.contract_sign(
            contract=obj,
            acting_user=request.user,
            signer_name=data["signer_name"],
            signer_email=data["signer_email"],
            signed_at=data["signed_at"],
        )


CONTRACT_STEPS: tuple[Step, ...] = (ContractSendStep(), SignStep())


# --- tasks -------------------------------------------------------------------------


class TaskDoneStep(UpdateStep):
    name, label, done = "done", "Mark done", "Task done."

    def available(self, obj) -> bool:
        return obj.status in TASK_OPEN_STATUSES

    def run(self, request, obj, data):
        services.task_complete(task=obj, acting_user=request.user)


TASK_STEPS: tuple[Step, ...] = (TaskDoneStep(),)
