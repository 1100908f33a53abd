"""EventBridge event patterns (issue 12): the one matcher, with the examples of the EventBridge documentation."""

from __future__ import annotations

from typing import Any

import pytest

from nexod.domain.event_patterns import PatternError, matches, validate

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3.0,
        "source-ip": "10.0.0.123",
        "tags": ["prod", "web"],
        "location": {"city": "Berlin"},
        "empty": None,
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.ec2"]}, True),
        ({"source": ["aws.s3", "aws.ec2"]}, True),
        ({"source": ["aws.s3"]}, False),
        ({"detail": {"state": ["terminated"], "c-count": [5]}}, True),
        ({"detail": {"d-count": [3]}}, True),  # 3 equals 3.0
        ({"detail": {"c-count": ["5"]}}, False),  # a string is not a number
        ({"detail": {"tags": ["web"]}}, True),  # an array in the event: any element
        ({"detail": {"location": {"city": ["Berlin"]}}}, True),
        ({"detail": {"empty": [None]}}, True),
        ({"detail": {"missing": [None]}}, False),
        # prefix / suffix / equals-ignore-case / wildcard
        ({"source": [{"prefix": "aws."}]}, True),
        ({"source": [{"prefix": "AWS."}]}, False),
        ({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}, True),
        ({"detail": {"instance-id": [{"suffix": "def0"}]}}, True),
        ({"detail": {"instance-id": [{"suffix": {"equals-ignore-case": "DEF0"}}]}}, True),
        ({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, True),
        ({"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]}, True),
        ({"resources": [{"wildcard": "arn:aws:s3:*"}]}, False),
        ({"source": [{"wildcard": "aws\\*ec2"}]}, False),  # an escaped star is a star
        # numeric
        ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
        ({"detail": {"c-count": [{"numeric": [">", 5]}]}}, False),
        ({"detail": {"d-count": [{"numeric": ["=", 3]}]}}, True),
        ({"detail": {"state": [{"numeric": [">", 0]}]}}, False),
        # anything-but
        ({"detail": {"state": [{"anything-but": "running"}]}}, True),
        ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, False),
        ({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}}, True),
        ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
        ({"detail": {"state": [{"anything-but": {"suffix": "ing"}}]}}, True),
        ({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}}, False),
        ({"detail": {"state": [{"anything-but": {"wildcard": "run*"}}]}}, True),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),  # a missing field matches nothing but exists
        # exists
        ({"detail": {"state": [{"exists": True}]}}, True),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"state": [{"exists": False}]}}, False),
        ({"detail": {"location": [{"exists": True}]}}, False),  # an object is not a leaf
        # cidr
        ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
        # $or, AND-ed with the other keys
        ({"source": ["aws.ec2"], "$or": [{"detail": {"c-count": [9]}}, {"detail": {"d-count": [3]}}]}, True),
        ({"source": ["aws.s3"], "$or": [{"detail": {"c-count": [5]}}, {"detail": {"d-count": [3]}}]}, False),
        ({"$or": [{"detail": {"c-count": [9]}}, {"detail": {"d-count": [9]}}]}, False),
    ],
)
def test_the_matcher_follows_eventbridge(pattern: dict[str, Any], expected: bool):
    assert validate(pattern) is pattern
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ({}, ""),
        ({"source": "aws.ec2"}, "source"),
        ({"source": []}, "source"),
        ({"detail": {}}, "detail"),
        ({"detail": {"n": [{"numeric": [">", "x"]}]}}, "detail.n.numeric"),
        ({"detail": {"n": [{"numeric": ["<", 5, ">", 1]}]}}, "detail.n.numeric"),
        ({"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}}, "detail.n.numeric"),
        ({"detail": {"n": [{"numeric": ["!=", 5]}]}}, "detail.n.numeric"),
        ({"detail": {"n": [{"prefix": 5}]}}, "detail.n.prefix"),
        ({"detail": {"n": [{"suffix": {"other": "x"}}]}}, "detail.n.suffix"),
        ({"detail": {"n": [{"wildcard": "a**b"}]}}, "detail.n.wildcard"),
        ({"detail": {"n": [{"exists": "yes"}]}}, "detail.n.exists"),
        ({"detail": {"n": [{"cidr": "not-an-ip"}]}}, "detail.n.cidr"),
        ({"detail": {"n": [{"anything-but": {"exists": True}}]}}, "detail.n.anything-but.exists"),
        ({"detail": {"n": [{"anything-but": ["a", 1]}]}}, "detail.n.anything-but"),
        ({"detail": {"n": [{"equals-ignore-case": ["a"]}]}}, "detail.n.equals-ignore-case"),
        ({"detail": {"n": [{"bogus": 1}]}}, "detail.n.bogus"),
        ({"detail": {"n": [{"prefix": "a", "suffix": "b"}]}}, "detail.n"),
        ({"detail": {"n": [[1]]}}, "detail.n"),
        ({"$or": [{"source": ["a"]}]}, "$or"),
        ({"detail": {"$or": [{"a": [1]}, "x"]}}, "detail.$or[1]"),
        ({"source": ["x" * 5000]}, ""),
    ],
)
def test_a_pattern_eventbridge_would_refuse_names_the_bad_key(pattern: dict[str, Any], path: str):
    with pytest.raises(PatternError) as caught:
        validate(pattern)
    assert caught.value.path == path
