"""Assessments' request and response models live in the shared contract; re-exported here."""

from shared.schemas.assessments import (
    AlertAcknowledge,
    AlertPublic,
    AnswersIn,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPublic,
    DraftSaved,
    QuestionnaireDetail,
    QuestionnaireSummary,
    QuestionnaireUpload,
    ResultDetail,
    ResultPublic,
    SubmissionReceipt,
    Trend,
)

__all__ = [
    "AlertAcknowledge",
    "AlertPublic",
    "AnswersIn",
    "AssignmentCreate",
    "AssignmentDetail",
    "AssignmentPublic",
    "DraftSaved",
    "QuestionnaireDetail",
    "QuestionnaireSummary",
    "QuestionnaireUpload",
    "ResultDetail",
    "ResultPublic",
    "SubmissionReceipt",
    "Trend",
]
