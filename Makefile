# What `sam build --build-in-source` runs for each function of infra/template.yaml
# (BuildMethod: makefile): its Lambda bootstrap for arm64 with the `deploy` profile of
# Cargo.toml, built for size (opt-level "s", fat LTO, one codegen unit, panic = "abort").
# SAM gives no way to pass a profile to its own Rust builder; a makefile build is its way to
# run any command. CI does not deploy: scripts/infra-check builds the release profile.
LAMBDA_BUILD = cargo lambda build --profile deploy --arm64 --locked
LAMBDA_DIR = $(or $(CARGO_TARGET_DIR),target)/lambda

define bootstrap
	$(LAMBDA_BUILD) --bin $(1)
	cp $(LAMBDA_DIR)/$(1)/bootstrap $(ARTIFACTS_DIR)/bootstrap
endef

build-PlannerFunction:
	$(call bootstrap,payout-planner)

build-ExecutorFunction:
	$(call bootstrap,payout-executor)

build-ApiFunction:
	$(call bootstrap,payout-api)

build-WebhooksFunction:
	$(call bootstrap,payout-webhooks)

build-IntakeFunction:
	$(call bootstrap,payout-intake)

.PHONY: build-PlannerFunction build-ExecutorFunction build-ApiFunction build-WebhooksFunction build-IntakeFunction
