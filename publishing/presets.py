"""Policy source presets per provider: the pages an operator starts from (editable after)."""

from publishing.models import PolicyCategory as C

PRESETS: dict[str, list[dict]] = {
    "youtube": [
        {
            "name": "Community guidelines",
            "url": "https://www.youtube.com/howyoutubeworks/policies/community-guidelines/",
            "category": C.COMMUNITY,
        },
        {
            "name": "Altered or synthetic content disclosure",
            "url": "https://support.google.com/youtube/answer/14328491",
            "category": C.SYNTHETIC,
        },
        {
            "name": "Spam, deceptive practices and scams",
            "url": "https://support.google.com/youtube/answer/2801973",
            "category": C.SPAM,
        },
        {
            "name": "YouTube Partner Programme policies",
            "url": "https://support.google.com/youtube/answer/1311392",
            "category": C.MONETISATION,
        },
    ],
    "etsy": [
        {
            "name": "Prohibited items policy",
            "url": "https://www.etsy.com/legal/prohibited/",
            "category": C.PROHIBITED,
        },
        {
            "name": "Intellectual property policy",
            "url": "https://www.etsy.com/legal/ip/",
            "category": C.IP,
        },
        {
            "name": "Creativity standards",
            "url": "https://www.etsy.com/legal/creativity/",
            "category": C.CREATIVITY,
        },
    ],
    "shopify": [
        {
            "name": "Acceptable use policy",
            "url": "https://www.shopify.com/legal/aup",
            "category": C.ACCEPTABLE_USE,
        },
        {
            "name": "Prohibited content (Shopify Payments)",
            "url": "https://www.shopify.com/legal/prohibited",
            "category": C.PROHIBITED,
        },
    ],
}
