"""Network: a dual-stack VPC whose egress matches the profile (IPv6 egress-only, NAT instance or NAT gateways)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import constants as c
from ..config import DeploymentConfig, log_retention


class Network(Construct):
    """VPC, subnets and the two security groups (functions, database) every other construct uses.

    No subnet is public-facing for workloads: functions and tasks sit in `app` subnets, Aurora in `data`
    subnets (isolated). Egress: IPv6 through a free egress-only internet gateway in every profile, and
    IPv4 through NAT only when the profile pays for it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        profile = config.profile
        subnets = [
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
        ]
        nat_provider: ec2.NatProvider | None = None
        if profile.nat_count > 0:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name="edge", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=26, map_public_ip_on_launch=False
                ),
            )
            if profile.egress == "nat-instance":
                nat_provider = ec2.NatProvider.instance_v2(
                    instance_type=ec2.InstanceType("t4g.nano"),
                    machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
                    default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                    associate_public_ip_address=True,
                )
            else:
                nat_provider = ec2.NatProvider.gateway()

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_protocol=ec2.IpProtocol.DUAL_STACK,
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=profile.max_azs,
            nat_gateways=profile.nat_count,
            nat_gateway_provider=nat_provider,
            subnet_configuration=subnets,
            # Without public subnets there is nothing for an internet gateway to serve.
            create_internet_gateway=profile.nat_count > 0,
            restrict_default_security_group=True,
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(profile),
            removal_policy=RemovalPolicy.RETAIN,  # records outlive a teardown; the retention expires them
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            # Rejected traffic is what a reviewer looks for; accepting everything would bill every packet.
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        self.app_subnets = ec2.SubnetSelection(subnet_group_name="app")
        self.data_subnets = ec2.SubnetSelection(subnet_group_name="data")

        self.functions_sg = ec2.SecurityGroup(
            self,
            "FunctionsSg",
            vpc=self.vpc,
            description="Nexod Lambda functions and agent tasks: outbound only",
            allow_all_outbound=True,
            allow_all_ipv6_outbound=True,
        )
        # Agent tasks run tools a model chose (DESIGN §3): HTTPS out only (the broker's URL, ECR, CloudWatch
        # Logs), and no rule of the database's security group names this one: no network path to Aurora.
        self.agent_sg = ec2.SecurityGroup(
            self,
            "AgentSg",
            vpc=self.vpc,
            description="Nexod agent tasks (untrusted tools): HTTPS out only, no database access",
            allow_all_outbound=False,
            allow_all_ipv6_outbound=False,
        )
        self.agent_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: broker, ECR, logs (IPv4)")
        self.agent_sg.add_egress_rule(ec2.Peer.any_ipv6(), ec2.Port.tcp(443), "HTTPS: broker (IPv6)")
        self.database_sg = ec2.SecurityGroup(
            self,
            "DatabaseSg",
            vpc=self.vpc,
            description="Nexod Aurora cluster: PostgreSQL from Nexod functions only",
            allow_all_outbound=False,
        )
        self.dual_stack_egress = True
        self.ipv4_egress = profile.nat_count > 0
        # Without NAT (starter) a Fargate task has no IPv4 route out, and Fargate pulls images and ships
        # awslogs over the task's private IPv4: interface endpoints for ECR (API + registry) and CloudWatch
        # Logs carry that, the image layers come from S3 through the gateway endpoint above. ECR's dual-stack
        # endpoints take no PrivateLink, so IPv6 alone cannot pull. The runner reaches the broker (a Lambda
        # function URL, dual-stack) over IPv6 through the egress-only gateway. With NAT, NAT carries it all.
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        if not self.ipv4_egress:
            self.endpoint_sg = ec2.SecurityGroup(
                self,
                "EndpointsSg",
                vpc=self.vpc,
                description="Nexod interface endpoints (ECR, CloudWatch Logs): HTTPS from Nexod tasks and functions",
                allow_all_outbound=False,
            )
            # Private DNS sends every caller of these services in the VPC here: the agent tasks (image pull,
            # awslogs) and the functions (the API's log-delivery calls when it publishes a flow).
            for peer, who in ((self.agent_sg, "agent tasks"), (self.functions_sg, "functions")):
                self.endpoint_sg.add_ingress_rule(peer, ec2.Port.tcp(443), f"HTTPS from the {who}")
            for service in c.AGENT_ENDPOINT_SERVICES:
                logical = "".join(part.capitalize() for part in service.split("."))
                self.endpoints[service] = self.vpc.add_interface_endpoint(
                    f"{logical}Endpoint",
                    service=ec2.InterfaceVpcEndpointAwsService(service),
                    subnets=ec2.SubnetSelection(
                        subnet_group_name="app", availability_zones=self.vpc.availability_zones[: c.AGENT_ENDPOINT_AZS]
                    ),
                    security_groups=[self.endpoint_sg],
                    private_dns_enabled=True,
                    open=False,
                )
