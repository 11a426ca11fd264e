################################################################################
# The metering reconciler: an EventBridge schedule invokes the gateway function with a "Scheduled Event", which
# its one handler sends to the reconciler (settles or releases calls left pending by a failed settlement).
################################################################################

resource "aws_cloudwatch_event_rule" "reconcile" {
  name                = "${var.name_prefix}-reconcile"
  description         = "Settles or releases model calls left pending (the gateway's metering reconciler)."
  schedule_expression = var.reconcile_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "reconcile" {
  rule      = aws_cloudwatch_event_rule.reconcile.name
  target_id = "gateway-reconciler"
  arn       = module.function.live_arn
}

resource "aws_lambda_permission" "reconcile" {
  statement_id  = "AllowReconcileSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  qualifier     = module.function.live_qualifier
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.reconcile.arn
}
