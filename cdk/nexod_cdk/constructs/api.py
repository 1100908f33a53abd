"""API: the HTTP API with a JWT authorizer (Cognito user pool created here, or Clerk from context),
throttling and access logs, and the API Lambda with least-privilege rights over per-flow state machines."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig, log_retention
from .orchestration import Orchestration
from .runtime import Runtime
from .secrets import Secrets
from .triggers import Triggers

ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"method":"$context.httpMethod","path":"$context.path","status":"$context.status",'
    '"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",'
    '"authorizerError":"$context.authorizer.error","sub":"$context.authorizer.claims.sub"}'
)


class Auth(Construct):
    """Who may call the API: a Cognito user pool + SPA client, or an external Clerk issuer."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        if config.auth_provider == "clerk":
            assert config.jwt_issuer
            assert config.jwt_audience
            self.issuer: str = config.jwt_issuer.rstrip("/")
            self.audience: str = config.jwt_audience
            return
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # admins invite; see docs/deploy.md "first user"
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED if config.profile.mfa_required else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=config.profile.deletion_protection,
            removal_policy=RemovalPolicy.RETAIN,  # users outlive a teardown unless deleted on purpose
        )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"{config.prefix}-{config.profile.name}-{stack.account}"
            ),
        )
        self.client = self.user_pool.add_client(
            "Console",
            generate_secret=False,  # a browser app cannot keep a secret: authorization code + PKCE
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                # Placeholders: the stack sets the console's URLs once CloudFront exists (and localhost
                # only where the profile allows it).
                callback_urls=["https://example.invalid/auth/callback"],
                logout_urls=["https://example.invalid/"],
            ),
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(7),
            enable_token_revocation=True,
        )
        self.issuer = f"https://cognito-idp.{stack.region}.amazonaws.com/{self.user_pool.user_pool_id}"
        self.audience = self.client.user_pool_client_id

    def environment(self) -> dict[str, str]:
        env = {"NEXOD_AUTH_ISSUER": self.issuer, "NEXOD_AUTH_AUDIENCE": self.audience}
        return env


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        runtime: Runtime,
        secrets: Secrets,
        triggers: Triggers,
        orchestration: Orchestration,
        database_secret_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.auth = Auth(self, "Auth", config=config)
        self.function = runtime.function(
            "Handler",
            handler=c.API_HANDLER,
            description="Nexod: HTTPS API",
            timeout=Duration.seconds(c.API_TIMEOUT_SECONDS),
            environment={
                "NEXOD_DATABASE_SECRET_ARN": database_secret_arn,
                **self.auth.environment(),
                **orchestration.environment(),
                **triggers.environment(),
                **secrets.environment(),
            },
        )
        self._grant(runtime, secrets, triggers, orchestration, database_secret_arn)

        authorizer = authorizers.HttpJwtAuthorizer(
            "Jwt",
            self.auth.issuer,
            jwt_audience=[self.auth.audience],
            identity_source=["$request.header.Authorization"],
        )
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            description="Nexod API",
            create_default_stage=False,
            default_authorizer=authorizer,
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=["*"],  # bearer tokens, no cookies: the origin grants nothing by itself
                allow_methods=[apigw.CorsHttpMethod.ANY],
                allow_headers=["authorization", "content-type", "x-nexod-workspace"],
                max_age=Duration.hours(1),
            ),
        )
        integration = integrations.HttpLambdaIntegration("Lambda", self.function)
        # Route only what the handler serves: everything under /v1 behind the JWT authorizer, and the
        # one public route. Any other path is API Gateway's own 404 and never invokes the VPC Lambda.
        self.http_api.add_routes(path=c.API_ROUTE_PATH, methods=[apigw.HttpMethod.ANY], integration=integration)
        # Webhook deliveries (issue 12): no JWT (each trigger's HMAC secret signs them, checked by the handler)
        # and a throttle of their own below the API's, so a noisy sender cannot use up the console's budget.
        hook_method, hook_path = c.HOOK_ROUTE.split(" ", 1)
        self.http_api.add_routes(
            path=hook_path,
            methods=[apigw.HttpMethod(hook_method)],
            integration=integration,
            authorizer=apigw.HttpNoneAuthorizer(),
        )
        method, health_path = c.HEALTH_ROUTE.split(" ", 1)
        self.http_api.add_routes(
            path=health_path,
            methods=[apigw.HttpMethod(method)],
            integration=integration,
            authorizer=apigw.HttpNoneAuthorizer(),  # load balancers and uptime checks carry no JWT
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config.profile),
            removal_policy=RemovalPolicy.RETAIN,  # an audit record: outlives a teardown until it expires
        )
        self.stage = apigw.HttpStage(
            self,
            "Stage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=c.API_THROTTLE_RATE, burst_limit=c.API_THROTTLE_BURST),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        # Per-route limits: the public health route gets its own small budget; the stage default above
        # applies to the authenticated routes.
        cfn_stage.route_settings = {
            c.HEALTH_ROUTE: {
                "ThrottlingRateLimit": c.HEALTH_THROTTLE_RATE,
                "ThrottlingBurstLimit": c.HEALTH_THROTTLE_BURST,
            },
            c.HOOK_ROUTE: {
                "ThrottlingRateLimit": c.HOOK_THROTTLE_RATE,
                "ThrottlingBurstLimit": c.HOOK_THROTTLE_BURST,
            },
            f"ANY {c.API_ROUTE_PATH}": {
                "ThrottlingRateLimit": c.API_THROTTLE_RATE,
                "ThrottlingBurstLimit": c.API_THROTTLE_BURST,
            },
        }
        self.url = self.http_api.api_endpoint

    def _grant(
        self,
        runtime: Runtime,
        secrets: Secrets,
        triggers: Triggers,
        orchestration: Orchestration,
        database_secret_arn: str,
    ) -> None:
        fn = self.function
        runtime.allow_secret_read(fn, database_secret_arn)
        # Rights arrive with the code that uses them (tests/infra/test_iam_enforced.py fails on a granted
        # action no path needs). Workspace credentials are write-only here (DESIGN §7): create, rotate,
        # delete, restore, never GetSecretValue: the webhook door reads webhook secrets (`trigger.<id>`) only.
        secrets.allow_manage(fn)
        secrets.allow_read_webhook_secrets(fn)
        triggers.allow_manage(fn)  # schedules in the group, trigger rules with the prefix
        triggers.bus.grant_put_events_to(fn)  # run lifecycle events (start, cancel, redrive) from the outbox
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="PublishAndRunFlows",
                actions=[
                    "states:CreateStateMachine",
                    "states:UpdateStateMachine",
                    "states:PublishStateMachineVersion",
                    "states:CreateStateMachineAlias",
                    "states:UpdateStateMachineAlias",
                    "states:StartExecution",
                ],
                resources=[orchestration.state_machine_arn_pattern],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="CompleteCallbacks",  # an approval's decision sends its node's token back
                actions=["states:SendTaskSuccess"],
                resources=[orchestration.state_machine_arn_pattern],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageRuns",
                actions=["states:StopExecution", "states:DescribeExecution"],
                resources=[orchestration.execution_arn_pattern],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassOnlyTheFlowRoles",
                actions=["iam:PassRole"],
                resources=[orchestration.state_machine_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            )
        )
        # Knowledge-base documents and queries are the LLM runner's work (it reads PDFs, embeds and holds
        # Pinecone's key): the API asks it with one synchronous invocation (nexod.adapters.knowledge_lambda).
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="AskTheKnowledgeWorker",
                actions=["lambda:InvokeFunction"],
                resources=[orchestration.llm_runner.function_arn],
            )
        )
        # Creating a state machine with logging asks the caller for log delivery rights.
        orchestration.allow_log_delivery(fn)
