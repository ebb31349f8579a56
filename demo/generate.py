#!/usr/bin/env python3
"""Writes the demo catalog's datasets (datasets/*.jsonl) from the phrase
tables below: product reviews for sentiment, short news reports with a
reference summary, and passages with short-answer questions. All text is
made up for assay's demo. The output is committed; rerun after editing:

    python3 demo/generate.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261124)

# ---- Sentiment: product reviews ------------------------------------------
products = ["kettle", "desk lamp", "rain jacket", "phone case", "blender", "backpack",
            "coffee grinder", "bike light", "office chair", "headphones", "toaster",
            "hiking boots", "water bottle", "keyboard", "umbrella", "tent"]
positive = [
    "It works exactly as described and feels solid.",
    "Setup took two minutes and it has been flawless since.",
    "Great value for the price, I would buy it again.",
    "My whole family loves it and uses it every day.",
    "The build quality is excellent and it looks lovely on the shelf.",
    "Fast delivery and the product is even better than the photos.",
    "After three months of daily use it still works like new.",
    "Honestly the best purchase I have made this year.",
]
negative = [
    "It stopped working after a week and support never replied.",
    "The material feels cheap and one part arrived cracked.",
    "Far too loud, and it smells of burnt plastic when in use.",
    "It does not fit as advertised and the return was a hassle.",
    "Broke on the second day. A complete waste of money.",
    "The instructions were useless and it leaks constantly.",
    "Disappointing: it looks nothing like the pictures.",
    "I regret buying it; the battery dies within an hour.",
]
neutral = [
    "It arrived on Tuesday in a plain cardboard box.",
    "It does the job, nothing more and nothing less.",
    "The colour is a little darker than expected but that is fine.",
    "Average product; some things are good, some are not.",
    "I have only used it twice so far, so it is too early to say.",
    "It is the same model my neighbour has.",
    "It is fine for the price, though I expected a bit more.",
    "Comes with a manual in four languages.",
]
openers = ["I bought this {p} for my flat.", "Ordered the {p} as a gift.",
           "Needed a new {p} after the old one died.", "Picked up this {p} on sale.",
           "This {p} replaced one I had for years.", ""]


def reviews(n):
    out = []
    pools = [("positive", positive), ("negative", negative), ("neutral", neutral)]
    for i in range(n):
        label, pool = pools[[0, 0, 1, 2, 0, 1][i % 6]]
        p = rng.choice(products)
        a, b = rng.sample(pool, 2)
        opener = rng.choice(openers).format(p=p)
        text = " ".join(s for s in [opener, a, b if i % 3 else ""] if s)
        out.append({"id": "review-%03d" % (i + 1), "vars": {"text": text}, "expected": label,
                    "tags": [p.replace(" ", "-")]})
    return out


# ---- News: short reports with a one-sentence reference summary ------------
towns = ["Harwick", "Lindmoor", "Castelbury", "Port Ellery", "Ostvale", "Brenford",
         "Millhaven", "Ashcombe", "Duneley", "Kirrow", "Tamsworth", "Glenfarrow"]
stories = [
    ("The {town} council approved a new cycle lane along the river on {day}.",
     "The {n} km lane will link the station with the old harbour.",
     "Work is due to start in {month} and cost about {money} million.",
     "Shop owners on Quay Street worry about losing parking spaces.",
     "{town} council approved a {n} km riverside cycle lane costing {money} million, starting in {month}."),
    ("Firefighters in {town} spent {day} night containing a blaze at a disused mill.",
     "No one was hurt, but {n} homes nearby were evacuated as a precaution.",
     "The cause of the fire is not yet known.",
     "Residents were allowed back early the next morning.",
     "A fire at a disused mill in {town} led to {n} homes being evacuated; nobody was hurt."),
    ("{town} library will open on Sundays from {month}, the county said on {day}.",
     "The change follows a petition signed by {n} hundred residents.",
     "Extra staff will be paid from a {money} million culture fund.",
     "Opening hours on weekdays stay the same.",
     "After a petition, {town} library will open on Sundays from {month}, funded by a culture grant."),
    ("A local bakery in {town} won the regional bread prize on {day}.",
     "Its sourdough beat {n} other entries in a blind tasting.",
     "The owners started the business in a garage eight years ago.",
     "They plan to use the prize money to train two apprentices.",
     "A {town} bakery's sourdough beat {n} entries to win the regional bread prize."),
    ("Heavy rain flooded the main road into {town} on {day}.",
     "Drivers were diverted for {n} hours while pumps cleared the water.",
     "Engineers say the drains need replacing at a cost of {money} million.",
     "The road reopened in the evening.",
     "Flooding closed the main road into {town} for {n} hours; new drains would cost {money} million."),
    ("The {town} football club signed a new coach on {day}.",
     "She previously led a youth team to {n} league titles.",
     "The club finished second to last in the spring season.",
     "Fans welcomed the news on social media.",
     "{town} football club hired a new coach who won {n} youth league titles."),
    ("Scientists at {town} university reported a new way to recycle solar panels on {day}.",
     "The method recovers {n}0 percent of the silver in old panels.",
     "A pilot plant is planned for {month}.",
     "Industry groups called the result promising but early.",
     "{town} university researchers found a way to recover {n}0 percent of the silver from old solar panels."),
    ("A ferry between {town} and the islands was cancelled on {day} because of high winds.",
     "About {n} hundred passengers had to wait for the next crossing.",
     "The operator said safety came first.",
     "Services are expected to run normally by the weekend.",
     "High winds cancelled the {town} island ferry, leaving about {n} hundred passengers waiting."),
    ("{town} primary school opened a vegetable garden on {day}.",
     "Pupils planted {n} kinds of vegetables with help from parents.",
     "The harvest will be used in school lunches.",
     "The project was paid for by a local charity.",
     "Pupils at a {town} primary school planted a garden of {n} vegetables for school lunches."),
]
days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
months = ["March", "April", "June", "September", "October"]


def news(n):
    out = []
    for i in range(n):
        s = stories[i % len(stories)]
        f = {"town": towns[(i * 5) % len(towns)], "day": rng.choice(days),
             "month": rng.choice(months), "n": rng.randint(3, 9),
             "money": rng.choice(["1.2", "2.5", "3", "4.8", "6"])}
        sentences = [x.format(**f) for x in s[:4]]
        if i % 2:
            sentences[2], sentences[3] = sentences[3], sentences[2]
        out.append({"id": "news-%03d" % (i + 1), "vars": {"article": " ".join(sentences)},
                    "expected": s[4].format(**f), "tags": [f["town"].lower().replace(" ", "-")]})
    return out


# ---- Short-answer QA over made-up passages --------------------------------
places = [
    ("Lake Orvel", "lake", {"length": "14 km", "region": "the Vesk highlands", "fish": "brown trout", "year": "1871"}),
    ("the Tarrin Bridge", "bridge", {"length": "820 metres", "region": "the Calder estuary", "fish": "", "year": "1934"}),
    ("Mount Serrat", "mountain", {"length": "2,410 metres", "region": "the Amberline range", "fish": "", "year": "1902"}),
    ("the Quillon Library", "library", {"length": "90,000 books", "region": "the town of Ferrow", "fish": "", "year": "1788"}),
    ("the Dovel Railway", "railway", {"length": "63 km", "region": "the Maren valley", "fish": "", "year": "1889"}),
    ("Harrow Island", "island", {"length": "7 km", "region": "the Northern Sound", "fish": "puffins", "year": "1650"}),
    ("the Brisk River", "river", {"length": "212 km", "region": "the Oldmark plains", "fish": "salmon", "year": "1840"}),
    ("the Sable Observatory", "observatory", {"length": "a 3-metre telescope", "region": "the Corve hills", "fish": "", "year": "1958"}),
    ("Fenwick Castle", "castle", {"length": "four towers", "region": "the Ridge coast", "fish": "", "year": "1215"}),
    ("the Lumen Tunnel", "tunnel", {"length": "5.6 km", "region": "the Granby pass", "fish": "", "year": "1976"}),
    ("Cotter Forest", "forest", {"length": "120 square km", "region": "the Ashby lowlands", "fish": "red deer", "year": "1920"}),
    ("the Pell Canal", "canal", {"length": "41 km", "region": "the Winter marshes", "fish": "pike", "year": "1799"}),
]
people = ["Ada Morrow", "Jonas Feld", "Ilse Varga", "Tomas Brel", "Nora Quint", "Piet Alder",
          "Mira Castell", "Osric Vane", "Lena Holt", "Emil Sorrel", "Greta Lind", "Hugo Marsh"]


def qa(n):
    out = []
    k = 0
    while len(out) < n:
        name, kind, f = places[k % len(places)]
        person = people[(k * 7) % len(people)]
        size_word = "is" if kind not in ("library", "observatory", "castle") else "has"
        context = (f"{name[0].upper() + name[1:]} is a {kind} in {f['region']}. "
                   f"It {size_word} {f['length']}"
                   f"{' long' if size_word == 'is' else ''}. "
                   f"It was first described in {f['year']} by the surveyor {person}.")
        if f["fish"]:
            context += f" Visitors come to see its {f['fish']}."
        qs = [(f"Where is {name}?", f["region"]),
              (f"Who first described {name}?", person),
              (f"In which year was {name} first described?", f["year"])]
        if f["fish"]:
            qs.append((f"What do visitors come to see at {name}?", f["fish"]))
        for q, a in qs:
            if len(out) >= n:
                break
            out.append({"id": "qa-%03d" % (len(out) + 1),
                        "vars": {"context": context, "question": q}, "expected": a,
                        "tags": [kind]})
        k += 1
        if k % len(places) == 0:
            people.append(people.pop(0))
    return out


def write(name, rows):
    path = os.path.join(HERE, "datasets", name + ".jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


write("reviews", reviews(60))
write("news", news(54))
write("qa", qa(60))
